"""``vesalius studies …``: maintenance of the study hierarchy."""

import typer

app = typer.Typer(no_args_is_help=True, help="Patients, studies, series and instances.")


@app.command("reindex")
def reindex() -> None:
    """Read every stored DICOM file's header again and rebuild the study hierarchy from it
    (after an upgrade, or when files were restored by hand). Safe to run twice."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from vesalius.cli import _context, out
    from vesalius.studies.service import StudyService

    with (
        _context() as ctx,
        ctx.db.session() as session,
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=out,
        ) as progress,
    ):
        task = progress.add_task("Reading DICOM headers", total=None)
        report = StudyService(ctx, session).reindex(
            progress=lambda done, total: progress.update(task, completed=done, total=total)
        )
    out.print(
        f"{report.images} DICOM image(s) read: {report.catalogued} in studies,"
        f" {report.unreadable} unreadable."
    )
