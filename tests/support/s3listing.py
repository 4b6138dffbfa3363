"""A bucket of any number of objects that exists only as ListObjectsV2 answers: a real boto3 client whose
listing requests are answered, page by page, by a function of the page asked for (botocore's
`before-send` hook), so a test can list a million keys with no server and nothing stored."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

#: LastModified of every scripted object.
LAST_MODIFIED = "2026-01-01T00:00:00.000Z"
#: Size in bytes of every scripted object.
OBJECT_SIZE = 4096


class _Body:
    """The raw stream botocore reads a response's content from."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_):
        yield self._data


def scripted_client(objects: int, key_format: str = "p/{:07d}.jpg"):
    """A boto3 S3 client on which every bucket lists `objects` keys (`key_format` of 0, 1, ...), in pages
    of the MaxKeys asked for; any other request fails (nothing else is scripted)."""
    import boto3
    from botocore.awsrequest import AWSResponse

    client = boto3.session.Session().client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                                            aws_access_key_id="scripted", aws_secret_access_key="scripted")

    def answer(request, **_):
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        start = int(query.get("continuation-token", "0"))
        end = min(objects, start + int(query.get("max-keys", "1000")))
        body = _page(start, end, objects, key_format).encode()
        return AWSResponse(request.url, 200, {"Content-Type": "application/xml"}, _Body(body))

    client.meta.events.register("before-send.s3.ListObjectsV2", answer)
    return client


def _page(start: int, end: int, objects: int, key_format: str) -> str:
    contents = "".join(f"<Contents><Key>{key_format.format(i)}</Key><LastModified>{LAST_MODIFIED}</LastModified>"
                       f"<ETag>\"{i:032x}\"</ETag><Size>{OBJECT_SIZE}</Size><StorageClass>STANDARD</StorageClass>"
                       "</Contents>" for i in range(start, end))
    more = end < objects
    token = f"<NextContinuationToken>{end}</NextContinuationToken>" if more else ""
    return ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<Name>scripted</Name><Prefix></Prefix><KeyCount>{end - start}</KeyCount><MaxKeys>1000</MaxKeys>"
            f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>{token}{contents}</ListBucketResult>")
