"""s3:// URLs and allowed roots, pure: no server, no client."""

import pytest

from tasks.errors import ConfigError, FileUnreadable
from tasks.inputs.s3url import split_s3_url, within_s3_roots
from tasks.settings import Settings


def test_a_url_splits_into_its_bucket_and_its_literal_key():
    assert split_s3_url("s3://photos/2024/a b?c#d.jpg") == ("photos", "2024/a b?c#d.jpg")
    assert split_s3_url("s3://photos") == ("photos", "")
    with pytest.raises(ValueError):
        split_s3_url("s3:///key.jpg")


def test_an_object_is_inside_a_bucket_root_or_a_prefix_root_taken_as_a_folder():
    roots = ("/srv/images", "s3://shared", "s3://media/photos")
    assert within_s3_roots("s3://shared/any/key.jpg", roots)
    assert within_s3_roots("s3://media/photos/a.jpg", roots)
    assert not within_s3_roots("s3://media/photos2/a.jpg", roots)  # a prefix is a folder, not a string prefix
    assert not within_s3_roots("s3://shared-other/a.jpg", roots)  # a bucket is matched whole
    assert not within_s3_roots("s3://media/a.jpg", roots)


def test_a_key_with_dot_segments_is_outside_every_root_since_a_store_or_proxy_may_resolve_them():
    roots = ("s3://media/photos/",)
    assert not within_s3_roots("s3://media/photos/../secret/a.jpg", roots)
    assert not within_s3_roots("s3://media/photos/./a.jpg", roots)
    assert within_s3_roots("s3://media/photos/..a.jpg", roots)


def test_local_roots_never_admit_an_object_and_s3_roots_never_admit_a_local_path():
    from tasks.inputs.readfile import read_image_file

    with pytest.raises(FileUnreadable) as caught:
        read_image_file("s3://media/a.jpg", ("/srv/images",))
    assert caught.value.code.reason == "outside-allowed-roots"
    with pytest.raises(FileUnreadable) as caught:
        read_image_file("/etc/hostname", ("s3://media",))
    assert caught.value.code.reason == "outside-allowed-roots"


def test_allowed_roots_from_the_environment_keep_s3_urls_whole_beside_resolved_folders(tmp_path):
    raw = f"s3://media/photos/:{tmp_path}:s3://shared"
    settings = Settings.from_env({"HASHFLEET_ALLOWED_ROOTS": raw})
    assert settings.allowed_roots == ("s3://media/photos/", str(tmp_path.resolve()), "s3://shared")
    assert Settings.from_env(settings.to_env()).allowed_roots == settings.allowed_roots


def test_an_s3_root_without_a_bucket_is_refused_with_the_variable_named():
    with pytest.raises(ConfigError, match="HASHFLEET_ALLOWED_ROOTS"):
        Settings(allowed_roots=("s3://",)).validated()
    with pytest.raises(ConfigError, match="absolute paths or s3:// URLs"):
        Settings(allowed_roots=("relative",)).validated()
