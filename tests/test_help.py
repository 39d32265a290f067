"""/help: the user guide in the user's language, its screenshots served, linked from the menu."""
import re

from tests.conftest import HttpUser


def _images(page: str) -> list[str]:
    return [src for src in re.findall(r'<img src="([^"]+)"', page) if "/icons/" not in src]


def test_guide_in_traditional_chinese_with_its_screenshots(anon):
    response = anon.get("/help")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "志工時數簿使用說明" in page
    for part in ("志工：用手機簽到、簽退", "督導：核對服務紀錄", "承辦人：簽到站（平板）啟用", "承辦人：保險",
                 "承辦人與督導：找志工（志工名冊）"):
        assert part in page
        assert re.search(rf'<a href="#s\d+">{part}</a>', page), f"{part} not in the contents"
    images = _images(page)
    assert len(images) >= 15 and "/help/img/zh-TW/a-directory.png" in images
    for src in images:
        assert src.startswith("/help/img/zh-TW/"), src
        picture = anon.get(src)
        assert picture.status_code == 200 and picture.mimetype == "image/png", src


def test_guide_in_english_for_an_english_browser(anon):
    page = anon.get("/help", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Hourbook user guide" in page and "Supervisors: verifying sessions" in page
    assert "Administrators and supervisors: finding a volunteer (the directory)" in page
    assert "志工時數簿使用說明" not in page
    assert all(src.startswith("/help/img/en/") for src in _images(page))
    assert anon.get(_images(page)[0]).status_code == 200


def test_help_is_in_every_signed_in_menu_and_on_the_sign_in_page(anon, admin, supervisor, volunteer):
    for person in (admin, supervisor, volunteer):
        assert 'href="/help"' in person.get("/").get_data(as_text=True)
    assert 'href="/help"' in anon.get("/sign-in").get_data(as_text=True)


def test_the_guide_renders_no_raw_html(app, monkeypatch, tmp_path, anon):
    from webapp.routes import help as help_routes

    (tmp_path / "zh-TW.md").write_text("# 說明\n\n<script>alert(1)</script>\n", encoding="utf-8")
    monkeypatch.setattr(help_routes, "GUIDE", tmp_path)
    help_routes._render.cache_clear()
    try:
        page = anon.get("/help").get_data(as_text=True)
    finally:
        help_routes._render.cache_clear()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
