"""`dupes`, `search` and `report`: near-duplicates in an index that `hashfleet run` wrote."""

from __future__ import annotations

import time

import click

from producer.cli.group import cli
from producer.near.defaults import (
    CENTRE_HASH,
    DEFAULT_FRAME_DISTANCE,
    DEFAULT_HASH,
    DEFAULT_MAX_DISTANCE,
    KEEP_POLICIES,
)
from tasks.settings import Settings

index_argument = click.argument("index", type=click.Path(exists=True, dir_okay=False))
max_distance_option = click.option(
    "--max-distance", "-k", type=click.IntRange(0, 64), default=DEFAULT_MAX_DISTANCE, show_default=True,
    help="Largest phash distance (bits of 64) that counts as the same picture.")
crops_option = click.option(
    "--crops/--no-crops", default=True, show_default=True,
    help="Also match border crops, through the centre-crop hashes (phash-centre) when the index has them.")
regions_option = click.option(
    "--regions/--no-regions", default=True, show_default=True,
    help="Also match rough edits through the region hashes (phash-regions) when the index has them: square and "
         "10 % crops, turned copies, captions, logos, screenshots; whole-picture matches must then be confirmed "
         "beyond a shared overlay.")
low_option = click.option(
    "--include-low-information", is_flag=True,
    help="Also pair images flagged as low-information (flat or near-blank: quality under 10), whose hashes are "
         "mostly noise.")


def load(index: str, crops: bool, regions: bool, with_paths: bool = True):
    """The index's phash (and, with `crops` or `regions`, the centre-crop or region hashes when it has them)."""
    from producer.near.hashindex import load_index
    from producer.near.regions import REGIONS_HASH

    optional = ((CENTRE_HASH,) if crops else ()) + ((REGIONS_HASH,) if regions else ())
    return load_index(index, (DEFAULT_HASH,), optional, with_paths)


frame_distance_option = click.option(
    "--frame-distance", type=click.IntRange(0, 64), default=DEFAULT_FRAME_DISTANCE, show_default=True,
    help="Largest phash distance of two video frames that count as the same picture (videos are then paired "
         "by aligned footage: docs/video.md).")


def find_video_pairs(index: str, frame_distance: int, crops: bool, cluster: Settings | None = None):
    """(videos of the index, their pairs): every sampled frame in one join (on `cluster`'s workers when
    given), aligned per pair of videos."""
    from producer.near.videopairs import video_pairs
    from producer.outputs.videoframes import read_videos

    videos = [v for v in read_videos(index) if len(v.frames)]
    if cluster is None or not videos:
        return videos, video_pairs(videos, max_distance=frame_distance, crops=crops)
    from producer.app import producer_app
    from producer.near.distjoin import join_on_cluster

    with producer_app(cluster) as app:
        return videos, video_pairs(videos, max_distance=frame_distance, crops=crops,
                                   joiner=lambda hashes, k, groups=None: join_on_cluster(app, hashes, k, groups=groups))


keep_option = click.option(
    "--keep", type=click.Choice(KEEP_POLICIES), default=KEEP_POLICIES[0], show_default=True,
    help="Which file of a group to keep: original (no frame, then most pixels, then least compressed, then "
         "oldest), most pixels, most bytes, oldest or newest.")


def find_groups(index: str, max_distance: int, crops: bool, regions: bool, include_low_information: bool,
                cluster: Settings | None = None):
    """(index data, pairs, groups) as `dupes` finds them; with `cluster` settings, the join runs on that
    cluster's workers (tasks/nearjoin/task.py), otherwise here."""
    from producer.near.find import groups_around_representatives, near_pairs

    data = load(index, crops, regions)
    options = {"crops": crops, "regions": regions, "include_low_information": include_low_information}
    if cluster is None:
        a, b, d = near_pairs(data, max_distance, **options)
    else:
        from producer.app import producer_app
        from producer.near.distjoin import join_on_cluster

        with producer_app(cluster) as app:
            a, b, d = near_pairs(data, max_distance, **options,
                                 joiner=lambda hashes, k, groups=None: join_on_cluster(app, hashes, k, groups=groups))
    return data, (a, b, d), groups_around_representatives(len(data), a, b, d)


def prepare_local_decoders() -> None:
    """For a command that decodes images here: the decoders' pixel limit from Settings
    (HASHFLEET_MAX_PIXELS), set before OpenCV loads, as on a worker (tasks/app.py)."""
    from tasks.image.limits import prepare_decoders

    prepare_decoders(Settings.from_env().max_pixels)


broker_option = click.option(
    "--broker", default=None,
    help="Run the join on this cluster's workers (redis:// URL; for indexes too large for one machine)  "
         "[env HASHFLEET_BROKER_URL; default: here]")


@cli.command()
@index_argument
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), default=None,
              help="Write every pair within the distance here as CSV: a,b,distance, and for a pair of videos the "
                   "shared footage a_start,a_end,b_start,b_end (seconds) and speed.")
@max_distance_option
@frame_distance_option
@click.option("--groups", "groups_out", type=click.Path(dir_okay=False), default=None,
              help="Write the groups as JSON: each a representative, its members and which one to keep.")
@keep_option
@click.option("--plan", "plan_out", type=click.Path(dir_okay=False), default=None,
              help="Write per group the file to keep and the candidates to remove as CSV "
                   "(hashfleet never deletes anything).")
@crops_option
@regions_option
@low_option
@broker_option
def dupes(index, out, max_distance, frame_distance, groups_out, keep, plan_out, crops, regions,
          include_low_information, broker) -> None:
    """Find near-duplicate images (resized, recompressed, cropped, recoloured copies) and videos (the same
    footage, re-encoded, resized, trimmed, or a clip of a longer one) in INDEX."""
    from producer.near import output as near_output
    from producer.near import videodupes

    started = time.monotonic()
    cluster = None
    if not Settings.from_env(broker_url=broker).embedded:  # --broker, else HASHFLEET_BROKER_URL
        from producer.cli.jobs import cluster_settings

        cluster = cluster_settings(broker, None)
    data, (a, b, d), groups = find_groups(index, max_distance, crops, regions, include_low_information, cluster)
    videos, video_pairs = find_video_pairs(index, frame_distance, crops, cluster)
    found = videodupes.video_groups(len(videos), video_pairs)
    video_groups = videodupes.group_members(videos, video_pairs, found, keep) if groups_out or plan_out else []
    if out:
        near_output.write_pairs(out, data, a, b, d, videodupes.pair_rows(videos, video_pairs))
    if groups_out:
        near_output.write_groups(groups_out, data, groups, keep, video_groups)
    if plan_out:
        near_output.write_plan(plan_out, data, groups, keep, video_groups)
    grouped = sum(len(g.members) for g in groups)
    seen = f"; {len(videos)} videos, {len(video_pairs)} video pairs, {len(found)} groups" if videos else ""
    click.echo(f"hashfleet: {len(data)} hashed files, {len(a)} pairs within {max_distance}, {len(groups)} groups "
               f"({grouped} files){seen} in {time.monotonic() - started:.1f} s")


class QueryPath(click.ParamType):
    """A local file, or an `s3://bucket/key` object (read when it is searched, as a worker reads one)."""

    name = "query"
    local = click.Path(exists=True, dir_okay=False)

    def convert(self, value, param, ctx):
        from tasks.inputs.s3url import is_s3_url

        return value if is_s3_url(value) else self.local.convert(value, param, ctx)


@cli.command()
@index_argument
@click.argument("queries", nargs=-1, required=True, type=QueryPath())
@max_distance_option
@frame_distance_option
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="Matches listed per query.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), default=None,
              help="Also write the matches as CSV: query,path,distance,start,end,query_start,query_end (seconds "
                   "in the matched video and in a video query; empty where not a video).")
@crops_option
@regions_option
def search(index, queries, max_distance, frame_distance, limit, out, crops, regions) -> None:
    """List the files of INDEX that look like each of QUERIES, nearest first (distance, then index order).

    A query image also finds the videos that show it, and when; a query video finds the videos that hold
    its footage, and where (docs/video.md). A query may be an s3://bucket/key object (docs/inputs.md)."""
    prepare_local_decoders()
    import csv

    from producer.near import querymatch
    from producer.near.output import hash_query
    from producer.near.videoquery import index_rate, sample_query
    from producer.outputs.videoframes import read_videos

    data = load(index, crops, regions, with_paths=False)
    videos = [v for v in read_videos(index) if len(v.frames)]
    rows = []
    for query in queries:
        if querymatch.is_video_query(query):
            matches = querymatch.video_matches(videos, sample_query(query, index_rate(videos)), frame_distance, crops)
            total, matches = len(matches), matches[:limit]
            within = f"{total} videos holding its footage"
        else:
            matches, total = querymatch.image_matches(data, videos, hash_query(query, tuple(data.hashes)),
                                                      max_distance, crops, limit, regions)
            within = f"{total} within {max_distance}"
        click.echo(f"{query}: {within}{f', nearest {limit}:' if total > limit else ':'}")
        for m in matches:
            where = "" if m.start is None else f"  at {m.start:.1f}-{m.end:.1f} s"
            if m.query_start is not None:
                where += f" (query {m.query_start:.1f}-{m.query_end:.1f} s)"
            click.echo(f"{m.distance:3d}  {m.path}{where}")
        rows += [m.row(query) for m in matches]
    if out:
        with open(out, "w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
            writer = csv.writer(handle)
            writer.writerow(querymatch.MATCH_FIELDS)
            writer.writerows(rows)


@cli.command()
@index_argument
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="The HTML page to write (one self-contained file).")
@max_distance_option
@frame_distance_option
@keep_option
@click.option("--thumbnails", type=click.IntRange(0), default=None,
              help="Groups shown with pictures, largest first  [default: the first 500]")
@crops_option
@regions_option
@low_option
def report(index, out, max_distance, frame_distance, keep, thumbnails, crops, regions, include_low_information) -> None:
    """Write a page showing the duplicate and near-duplicate groups of INDEX side by side."""
    prepare_local_decoders()
    from producer.near import videodupes
    from producer.near.output import report_groups
    from producer.near.report import DEFAULT_THUMBNAIL_GROUPS, write_report

    data, (a, _, _), groups = find_groups(index, max_distance, crops, regions, include_low_information)
    videos, video_pairs = find_video_pairs(index, frame_distance, crops)
    found = videodupes.video_groups(len(videos), video_pairs)
    shown = report_groups(data, groups, keep) + videodupes.report_groups(
        videodupes.group_members(videos, video_pairs, found, keep))
    summary = {"files": len(data), "pairs": len(a), "groups": len(groups), "hash": "phash" + (" + centre crop" if crops
               else ""), "max distance": max_distance, "keep": keep}
    if videos:
        summary.update({"videos": len(videos), "video pairs": len(video_pairs), "video groups": len(found),
                        "frame distance": frame_distance})
    written = write_report(shown, out, title=f"hashfleet: {index}", summary=summary,
                           thumbnails=DEFAULT_THUMBNAIL_GROUPS if thumbnails is None else thumbnails)
    click.echo(f"hashfleet: {written} groups of {len(data)} hashed files and {len(videos)} videos; wrote {out}")
