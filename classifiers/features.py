"""Text normalisation and the feature space shared by the category and emergency models.

A post becomes one sparse row: character n-grams (script-agnostic: Kannada, Devanagari, Vietnamese,
typos), word n-grams, and a static sentence embedding distilled from all-MiniLM-L6-v2.
The fitted space is saved as plain JSON + NumPy files, never pickled.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import ftfy
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

from classifiers.romanise import romanise

MAX_MODEL_CHARS = 2000
"""Longer posts are cut before normalisation: a 50,000-character paste costs no more than a long post."""

_URL = re.compile(r"(?:https?://|www\.)\S*|\b\S+\.(?:com|in|org|ly|co|gov\.in)/\S*", re.IGNORECASE)
_HANDLE = re.compile(r"@\w{1,50}")
_HANDLE_CHAIN = re.compile(r"(?:\.?@\w{1,50}[\s,:]*){3,}")
_RETWEET = re.compile(r"^\s*(?:RT\s+@\w{1,50}\s*:|Retweeted\s[^:()]{0,60}\(@\w{1,50}\)\s*:)", re.IGNORECASE)
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_PLATE = re.compile(
    r"\b(?:[A-Z]{2}[\s.-]?\d{1,2}[\s.-]?[A-Z]{0,3}[\s.-]?\d{3,4}|\d{2}[A-Z]\d?[\s.-]?\d{3}\.?\d{2})\b",
    re.IGNORECASE,
)
_PHONE = re.compile(r"\+?\d[\d\s-]{8,}\d|\b\d{5}x{3,5}\b", re.IGNORECASE)
_ELONGATION = re.compile(r"(\D)\1{2,}")
_SPACES = re.compile(r"\s+")
_WORD_TOKEN = r"(?u)[^\s.,!?;:()\[\]{}\"'“”‘’…/\\|<>=+*&^%$~`।_-]+"
_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "D"})
_LATIN_DIACRITICS = re.compile("[\u0300-\u036f]+")  # Indic vowel signs live elsewhere and are kept
_NEEDS_FOLDING = re.compile("[\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\ufff0-\uffff]")
_INDIC_WORD = re.compile("\\S*[\u0900-\u0cff]\\S*")


def _fold_latin(text: str) -> str:
    """Drop diacritics from Latin letters ("kẹt xe" → "ket xe")."""
    if not _NEEDS_FOLDING.search(text):
        return text
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_EXTRA))
    return unicodedata.normalize("NFC", _LATIN_DIACRITICS.sub("", decomposed))


def _with_romanised(text: str) -> str:
    words = _INDIC_WORD.findall(text)
    if not words:
        return text
    return text + " " + " ".join(romanise(w) for w in words)


def normalise(text: str) -> str:
    """The model's view of a post: broken encodings and HTML entities repaired (ftfy), NFC, no control
    characters, a retweet marked, URLs/handles/plates/phones as tokens (a chain of three or more handles as one
    more token), hashtags split into words, elongations shortened, lower case, Latin diacritics folded, emoji
    kept, and Devanagari / Kannada words followed by their romanised spelling."""
    text = _CONTROL.sub(" ", text[:MAX_MODEL_CHARS])  # first: ftfy would drop them, joining the words beside
    text = unicodedata.normalize("NFC", ftfy.fix_text(text))
    text = _RETWEET.sub(" xretweet ", text)
    text = _URL.sub(" xurl ", text)
    text = _HANDLE_CHAIN.sub(" xuser xmanyusers ", text)
    text = _HANDLE.sub(" xuser ", text)
    text = _HASHTAG.sub(lambda m: " " + _CAMEL.sub(" ", m.group(1)) + " ", text)
    text = _PHONE.sub(" xphone ", text)
    text = _PLATE.sub(" xplate ", text)
    text = _ELONGATION.sub(r"\1\1", text)
    text = _fold_latin(text.lower())
    return _with_romanised(_SPACES.sub(" ", text).strip())


def has_content(normalised: str) -> bool:
    """Whether anything is left to classify (a letter, digit or symbol such as an emoji)."""
    stripped = re.sub(r"\b(?:xurl|xuser|xphone|xplate)\b", " ", normalised)
    return any(c.isalnum() or unicodedata.category(c) == "So" for c in stripped)


def _is_stem(term: str) -> bool:
    return len(term) >= 5 and " " not in term


def _squash_vowels(text: str) -> str:
    return re.sub(r"([aeiou])\1", r"\1", text)


@dataclass(frozen=True)
class Glossary:
    """Domain words of other languages → English words added to a post's features ("ket xe" → "traffic
    jam", "rishvat" → "bribe"), so few Vietnamese or Kannada examples borrow from many English ones.
    Single words of five letters or more also match as word prefixes (Kannada and Hindi inflect)."""

    entries: tuple[tuple[str, str], ...] = ()

    @classmethod
    def read_tsv(cls, path: Path) -> Glossary:
        entries = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                term, gloss = line.split("\t")
                entries.append((term.strip(), gloss.strip()))
        return cls(tuple(entries))

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.entries:
            return None
        alternatives = sorted({_squash_vowels(t) for t, _ in self.entries}, key=len, reverse=True)
        body = "|".join(re.escape(t) + (r"\w*" if _is_stem(t) else r"(?!\w)") for t in alternatives)
        return re.compile(rf"(?<!\w)(?:{body})")

    @cached_property
    def _glosses(self) -> dict[str, str]:
        return {_squash_vowels(t): g for t, g in self.entries}

    def expand(self, normalised: str) -> str:
        """The English glosses of the glossary terms found in a normalised post, space-separated."""
        if self._pattern is None:
            return ""
        glosses = []
        for found in self._pattern.finditer(_squash_vowels(normalised)):
            word = found.group(0)
            gloss = self._glosses.get(word) or next(
                g for t, g in self._glosses.items() if _is_stem(t) and word.startswith(t)
            )
            glosses.append(gloss)
        return " ".join(glosses)


class Embedder(Protocol):
    def encode(self, sentences: list[str]) -> NDArray[np.floating]: ...


class StaticEmbedder:
    """A model2vec static model (token vectors distilled from all-MiniLM-L6-v2): a mean of token vectors,
    thousands of posts a second with no torch at run time."""

    def __init__(self, directory: Path) -> None:
        from model2vec import StaticModel

        if not (directory / "model.safetensors").is_file():
            # model2vec would otherwise try to download a missing folder from a model hub.
            raise FileNotFoundError(f"no static embedding model in {directory} (run training to distil it)")
        self._model = StaticModel.from_pretrained(directory, force_download=False)

    def encode(self, sentences: list[str]) -> NDArray[np.floating]:
        return self._model.encode(sentences, max_length=256, use_multiprocessing=False)


@dataclass(frozen=True)
class FeatureConfig:
    char_ngram_max: int = 4
    char_max_features: int = 60_000
    word_ngram_max: int = 2
    word_max_features: int = 20_000
    min_df: int = 2
    embedding_weight: float = 0.3
    handle_weight: float = 0.0  # > 0: a column per @-handle named in min_df posts (read from the raw text)


def _char_vectorizer(config: FeatureConfig, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, config.char_ngram_max),
        min_df=config.min_df,
        max_features=config.char_max_features,
        sublinear_tf=True,
        lowercase=False,
        dtype=np.float32,
        vocabulary=vocabulary,
    )


def _word_vectorizer(config: FeatureConfig, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="word",
        token_pattern=_WORD_TOKEN,
        ngram_range=(1, config.word_ngram_max),
        min_df=config.min_df,
        max_features=config.word_max_features,
        sublinear_tf=True,
        lowercase=False,
        dtype=np.float32,
        vocabulary=vocabulary,
    )


def handles_of(raw_text: str) -> set[str]:
    """The @-handles a post names, lower case: normalise() makes each one `xuser`, but whom a post is addressed
    to (@RailMinIndia, @dtptraffic) says much about what it is."""
    return {h.lower() for h in _HANDLE.findall(raw_text[:MAX_MODEL_CHARS])}


class FeatureSpace:
    """Maps normalised texts to rows of one sparse matrix: [char tf-idf | word tf-idf | embedding | handles]."""

    def __init__(
        self,
        config: FeatureConfig,
        char_vectorizer: TfidfVectorizer,
        word_vectorizer: TfidfVectorizer,
        embedder: Embedder | None,
        glossary: Glossary | None = None,
        handles: Sequence[str] = (),
    ) -> None:
        self.config = config
        self._char = char_vectorizer
        self._word = word_vectorizer
        self._embedder = embedder
        self.glossary = glossary or Glossary()
        self.handles = tuple(handles)
        self._handle_columns = {handle: column for column, handle in enumerate(self.handles)}

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        config: FeatureConfig,
        embedder: Embedder | None,
        glossary: Glossary | None = None,
        raw: Sequence[str] | None = None,
    ) -> FeatureSpace:
        """``raw``: the posts as written, for the handle columns (needed when ``config.handle_weight`` > 0)."""
        handles: list[str] = []
        if config.handle_weight > 0:
            if raw is None or len(raw) != len(texts):
                raise ValueError("a feature space with handle columns is fitted on the raw texts too")
            counts = Counter(handle for text in raw for handle in handles_of(text))
            handles = sorted(handle for handle, n in counts.items() if n >= config.min_df)
        space = cls(config, _char_vectorizer(config), _word_vectorizer(config), embedder, glossary, handles)
        glossed = space.glossed(texts)
        space._char.fit(glossed)
        space._word.fit(glossed)
        return space

    def glossed(self, texts: Sequence[str]) -> list[str]:
        """normalise()d texts each followed by its glossary words: what the vectorisers and embedders read."""
        if not self.glossary.entries:
            return list(texts)
        return [f"{text} {self.glossary.expand(text)}".rstrip() for text in texts]

    @property
    def n_features(self) -> int:
        embedding_dims = 0 if self._embedder is None else self._embedding_dims()
        return len(self._char.vocabulary_) + len(self._word.vocabulary_) + embedding_dims + len(self.handles)

    def _embedding_dims(self) -> int:
        assert self._embedder is not None
        return int(self._embedder.encode(["x"]).shape[1])

    def transform(self, texts: Sequence[str], raw: Sequence[str] | None = None) -> sp.csr_matrix:
        """Rows for normalise()d texts; ``raw``, the same posts as written, when the space has handle columns."""
        glossed = self.glossed(texts)
        blocks = [self._char.transform(glossed), self._word.transform(glossed)]
        if self._embedder is not None:
            dense = np.asarray(self._embedder.encode(glossed), dtype=np.float32)
            norms = np.linalg.norm(dense, axis=1, keepdims=True)
            dense = dense / np.maximum(norms, 1e-6) * self.config.embedding_weight
            blocks.append(sp.csr_matrix(dense))
        if self.handles:
            if raw is None or len(raw) != len(texts):
                raise ValueError("this feature space has handle columns: pass the raw texts too")
            blocks.append(self._handle_rows(raw))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def _handle_rows(self, raw: Sequence[str]) -> sp.csr_matrix:
        """One unit-norm row per post (times ``handle_weight``) over the handles it names."""
        indptr, indices, values = [0], [], []
        for text in raw:
            columns = sorted(self._handle_columns[h] for h in handles_of(text) if h in self._handle_columns)
            indices.extend(columns)
            if columns:
                values.extend([self.config.handle_weight / np.sqrt(len(columns))] * len(columns))
            indptr.append(len(indices))
        shape = (len(raw), len(self.handles))
        return sp.csr_matrix((np.array(values, dtype=np.float32), indices, indptr), shape=shape)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        vocabularies = {
            "config": asdict(self.config),
            "char": _ordered_vocabulary(self._char.vocabulary_),
            "word": _ordered_vocabulary(self._word.vocabulary_),
            "glossary": [list(entry) for entry in self.glossary.entries],
            "handles": list(self.handles),
        }
        (directory / "features.json").write_text(json.dumps(vocabularies, ensure_ascii=False), encoding="utf-8")
        write_npz(
            directory / "features_idf.npz",
            {"char": self._char.idf_.astype(np.float32), "word": self._word.idf_.astype(np.float32)},
        )

    @classmethod
    def load(cls, directory: Path, embedder: Embedder | None) -> FeatureSpace:
        saved = json.loads((directory / "features.json").read_text(encoding="utf-8"))
        config = FeatureConfig(**saved["config"])
        idf = np.load(directory / "features_idf.npz")
        char_vectorizer = _char_vectorizer(config, _vocabulary_from(saved["char"]))
        word_vectorizer = _word_vectorizer(config, _vocabulary_from(saved["word"]))
        char_vectorizer.idf_ = idf["char"]
        word_vectorizer.idf_ = idf["word"]
        glossary = Glossary(tuple((term, gloss) for term, gloss in saved.get("glossary", [])))
        return cls(config, char_vectorizer, word_vectorizer, embedder, glossary, saved.get("handles", []))


def _ordered_vocabulary(vocabulary: dict[str, int]) -> list[str]:
    """The terms in column order (a list is smaller than the dict and keeps the columns exact)."""
    terms = [""] * len(vocabulary)
    for term, column in vocabulary.items():
        terms[int(column)] = term
    return terms


def _vocabulary_from(terms: list[str]) -> dict[str, int]:
    return {term: column for column, term in enumerate(terms)}


def write_npz(path: Path, arrays: dict[str, NDArray[np.generic]]) -> None:
    """Like ``np.savez_compressed`` but byte-for-byte reproducible (fixed member timestamps), so a
    retrain on the same corpus leaves the committed artifacts unchanged."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
