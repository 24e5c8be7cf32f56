"""The download route over real HTTP (Tornado on loopback): a session's files stream as attachments; other
tokens, hidden partial files and paths outside the area are not served; a closed area is gone."""

from tornado.testing import AsyncHTTPTestCase
from tornado.web import Application

from dashboard.downloads import ROUTE, ROUTES, ExportArea


class DownloadRouteTest(AsyncHTTPTestCase):
    def get_app(self):
        return Application(ROUTES)

    def setUp(self):
        super().setUp()
        self.area = ExportArea()
        self.other = ExportArea()

    def tearDown(self):
        self.area.close()
        self.other.close()
        super().tearDown()

    def test_a_file_in_the_area_downloads_whole_as_an_attachment(self):
        data = bytes(range(256)) * 40_000  # 10 MB: streamed from disk, not held as one message
        (self.area.path / "sel.parquet").write_bytes(data)
        resp = self.fetch(self.area.url("sel.parquet"))
        assert resp.code == 200 and resp.body == data
        assert resp.headers["Content-Disposition"] == 'attachment; filename="sel.parquet"'
        part = self.fetch(self.area.url("sel.parquet"), headers={"Range": "bytes=100-199"})
        assert part.code == 206 and part.body == data[100:200]

    def test_nothing_else_is_served(self):
        (self.area.path / "sel.csv").write_text("a\n")
        (self.area.path / ".sel.csv.partial").write_text("half")
        (self.other.path / "theirs.csv").write_text("b\n")
        for path in (f"/{ROUTE}/{'0' * 32}/sel.csv", self.area.url(".sel.csv.partial"),
                     f"/{ROUTE}/{self.area.token}/../{self.other.token}/theirs.csv",
                     f"/{ROUTE}/{self.area.token}/%2e%2e/{self.other.token}/theirs.csv",
                     f"/{ROUTE}/{self.area.token}/"):  # fmt: skip
            assert self.fetch(path).code == 404, path
        self.area.close()
        assert self.fetch(self.area.url("sel.csv")).code == 404
