"""Imaging: proving files are DICOM, and turning DICOM and ordinary images into previews.

- ``dicom``: ``read_summary`` (header only, for uploads), ``sniff_is_dicom``.
- ``render``: ``render_dicom`` (one frame → 8-bit pixels), ``encode_png``, ``make_thumbnail``.
- ``raster``: PNG, JPEG, TIFF and BMP: ``sniff_raster``, ``read_raster_info``, ``render_raster``.
"""
