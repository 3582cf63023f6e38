"""Registered cameras near a complaint's point, nearest first."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.cameras import Camera, cameras_near, haversine_m, read_cameras

ROOT = Path(__file__).resolve().parents[2]


def cam(cid: str, lat: float, lon: float) -> Camera:
    return Camera(cid, f"camera {cid}", lat, lon, "RWA", f"{cid}@example.org")


def test_haversine_matches_a_known_distance() -> None:
    # MG Road metro to Cubbon Park metro, about 1.1 km apart along the same line
    assert haversine_m(12.9756, 77.6066, 12.9810, 77.5970) == pytest.approx(1_204, rel=0.01)
    assert haversine_m(12.97, 77.59, 12.97, 77.59) == 0.0


def test_cameras_within_the_radius_come_nearest_first() -> None:
    point = (12.9716, 77.5946)
    cameras = [
        cam("far", 12.9816, 77.5946),  # ~1.1 km north
        cam("near", 12.9718, 77.5946),  # ~22 m
        cam("mid", 12.9716, 77.5966),  # ~217 m east
        cam("edge", 12.9743, 77.5946),  # ~300 m
    ]
    found = cameras_near(cameras, *point, radius_m=300)
    assert [n.camera.id for n in found] == ["near", "mid"] or [n.camera.id for n in found] == ["near", "mid", "edge"]
    assert [n.camera.id for n in cameras_near(cameras, *point, radius_m=2000, limit=2)] == ["near", "mid"]
    assert cameras_near(cameras, *point, radius_m=10) == []
    assert all(n.distance_m <= 300 for n in found)


def test_the_sample_registry_reads_cleanly() -> None:
    cameras, problems = read_cameras(ROOT / "data" / "bengaluru" / "cameras.csv")
    assert problems == [] and len(cameras) > 100


def test_bad_camera_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "cameras.csv"
    path.write_text(
        "id,name,lat,lon,owner,contact\nc1,a,12.9,77.5,o,x\nc1,b,12.9,77.5,o,x\nc3,c,north,77.5,o,x\nc4,d,95,77.5,o,x\n",
        encoding="utf-8",
    )
    cameras, problems = read_cameras(path)
    assert [c.id for c in cameras] == ["c1"] and len(problems) == 3
