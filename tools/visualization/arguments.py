"""The command-line arguments every visualisation tool shares."""

import argparse
from typing import Optional


def picture_tool_parser(
    description: str,
    config_help: str,
    checkpoint_help: Optional[str],
    output: str,
    max_images: int,
    scale: bool = True,
    device: bool = True,
) -> argparse.ArgumentParser:
    """A parser with ``config``, ``checkpoint`` (unless ``checkpoint_help`` is None), ``images``, ``--output``
    (default ``work_dirs/visualization/<output>``), ``--force``, ``--max-images``, ``--image-size``, and ``--scale``
    and ``--device`` unless switched off."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help=config_help)
    if checkpoint_help is not None:
        parser.add_argument('checkpoint', help=checkpoint_help)
    parser.add_argument('images', nargs='+', help='image files and/or folders of images')
    parser.add_argument('--output', default=f'work_dirs/visualization/{output}', help='PNG to write')
    parser.add_argument('--force', action='store_true', help='replace --output if it exists')
    parser.add_argument('--max-images', type=int, default=max_images, help='at most this many images')
    parser.add_argument('--image-size', type=int, help='crop side; default: the training crop size of the config')
    if scale:
        parser.add_argument('--scale', type=int, help='integer enlargement of every panel; default: panels >= ~128 px')
    if device:
        parser.add_argument('--device', default='cpu', help="torch device, e.g. 'cuda:0'")
    return parser
