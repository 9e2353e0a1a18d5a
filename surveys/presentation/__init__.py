"""Presentation shared by several interfaces (admin, API, commands): data in,
bytes or template context out. Services and selectors return data; the API's
own shapes live beside it in ``surveys/api/``."""
