from pathlib import Path

from mtm.env import BASE_DIR, read_env


def test_embedded_default_without_environment():
    env = read_env({})
    assert (env.database_url, env.redis_url, env.uses_services) == (None, None, False)
    assert env.data_dir == BASE_DIR / "var"
    assert env.allowed_hosts == ["127.0.0.1", "localhost"]
    assert env.max_submission_bytes == 10 * 1024 * 1024


def test_services_from_environment():
    env = read_env({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/mtm", "REDIS_URL": "redis://127.0.0.1:6379/0",
                    "DJANGO_ALLOWED_HOSTS": "a.org, b.org", "DJANGO_DEBUG": "yes", "MTM_DATA_DIR": "/srv/mtm"})
    assert env.uses_services is True
    assert env.allowed_hosts == ["a.org", "b.org"]
    assert env.debug is True
    assert env.data_dir == Path("/srv/mtm")


def test_digest_switch_from_environment():
    assert read_env({}).openrosa_digest is None
    assert read_env({"MTM_OPENROSA_DIGEST": "off"}).openrosa_digest is False
    assert read_env({"MTM_OPENROSA_DIGEST": "on"}).openrosa_digest is True


def test_the_shells_language_as_gettext_reads_the_locale():
    def language(**environ):
        return read_env(environ).shell_language

    assert language() == ""
    assert language(LANG="C.UTF-8") == "" and language(LANG="POSIX") == ""
    assert language(LANG="ru_RU.UTF-8") == "ru"
    assert language(LANG="kk_KZ.UTF-8@cyrillic") == "kk"
    assert language(LANG="ru_RU.UTF-8", LC_MESSAGES="kk_KZ.UTF-8") == "kk"
    assert language(LANG="ru_RU.UTF-8", LC_MESSAGES="kk_KZ", LC_ALL="en_GB.UTF-8") == "en"


def test_files_in_the_data_folder_by_default_and_in_an_s3_bucket_when_named():
    assert read_env({}).default_storage == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    env = read_env({"MTM_S3_BUCKET": "mtm-files", "MTM_S3_ENDPOINT_URL": "https://minio.example.org:9000",
                    "MTM_S3_ACCESS_KEY_ID": "key", "MTM_S3_SECRET_ACCESS_KEY": "secret", "MTM_S3_PREFIX": "/kz/",
                    "MTM_S3_ADDRESSING_STYLE": "path"})
    assert env.default_storage == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "mtm-files", "default_acl": None, "file_overwrite": False,
                    "querystring_auth": True, "signature_version": "s3v4", "location": "kz",
                    "endpoint_url": "https://minio.example.org:9000", "access_key": "key", "secret_key": "secret",
                    "addressing_style": "path"}}
    assert "region_name" not in env.default_storage["OPTIONS"]


def test_processing_batch_size_from_environment():
    assert read_env({}).process_batch == 200
    assert read_env({"MTM_PROCESS_BATCH": "50"}).process_batch == 50
    assert read_env({"MTM_PROCESS_BATCH": "0"}).process_batch == 1
