"""Reading the Cookie header: what the session, CSRF and language cookies are looked up in."""
from backend.web.middleware import _cookies


def read(header: str) -> dict:
    return _cookies({"headers": [(b"host", b"x"), (b"cookie", header.encode("latin-1"))]})


def test_cookies_are_read_as_browsers_send_them():
    assert read("pacto_session=abc-_123; pacto_csrf=x.y; pacto_lang=es") == {
        "pacto_session": "abc-_123", "pacto_csrf": "x.y", "pacto_lang": "es"}
    assert read("a=1;a=2") == {"a": "2"}  # the last of a repeated name
    assert read(' a = "q" ; b=') == {"a": "q", "b": ""}  # spaces and double quotes around a value
    assert read("pacto_csrf=a.b=c") == {"pacto_csrf": "a.b=c"}  # only the first "=" separates
    # a malformed pair of someone else's (on the same host) does not hide ours
    assert read("x=1; junk; pacto_session=t") == {"x": "1", "pacto_session": "t"}
    assert _cookies({"headers": []}) == {}
    # only spaces and tabs are trimmed: a name with another blank around it is another cookie
    assert read("pacto_session=GOOD; \xa0pacto_session=EVIL") == {"pacto_session": "GOOD", "\xa0pacto_session": "EVIL"}
    assert read("pacto_session=GOOD;\tpacto_lang=es\t") == {"pacto_session": "GOOD", "pacto_lang": "es"}
    # several Cookie headers (HTTP/2 may split them) are read together
    assert _cookies({"headers": [(b"cookie", b"a=1"), (b"cookie", b"b=2")]}) == {"a": "1", "b": "2"}
