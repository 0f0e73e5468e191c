"""`read_image`: Pillow decoding, RGB or grayscale, shorter side resized, centre crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnabla_nas.dataset import read_image
from nnabla_nas.dataset.images import read_images

from .image_files import solid, write_image


def test_a_png_of_the_target_size_is_read_exactly(tmp_path: Path, rng) -> None:
    pixels = rng.integers(0, 256, size=(5, 5, 3), dtype=np.uint8)
    image = read_image(str(write_image(tmp_path / "a.png", pixels)), 5)
    assert image.shape == (3, 5, 5) and image.dtype == np.float32
    np.testing.assert_array_equal(image, pixels.transpose(2, 0, 1) / np.float32(255))


def test_gray_palette_and_alpha_images_become_rgb(tmp_path: Path) -> None:
    gray = np.array([[0, 51], [102, 255]], dtype=np.uint8)
    image = read_image(str(write_image(tmp_path / "g.png", gray)), 2)
    np.testing.assert_array_equal(image, np.stack([gray] * 3) / np.float32(255))
    rgba = np.dstack([solid((10, 20, 30), 2, 2), np.full((2, 2), 7, np.uint8)])
    image = read_image(str(write_image(tmp_path / "a.png", rgba)), 2)
    np.testing.assert_array_equal(image[:, 0, 0] * 255, [10, 20, 30])  # alpha dropped
    palette = Image.fromarray(solid((200, 0, 100), 2, 2)).convert("P", palette=Image.ADAPTIVE)
    assert palette.mode == "P"
    palette.save(tmp_path / "p.png")
    np.testing.assert_allclose(read_image(str(tmp_path / "p.png"), 2)[:, 1, 1] * 255, [200, 0, 100])


def test_one_channel_is_pillows_luma(tmp_path: Path) -> None:
    # L = (19595 R + 38470 G + 7471 B + 2^15) >> 16: the ITU-R 601-2 weights in fixed point.
    row = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    image = read_image(str(write_image(tmp_path / "c.png", np.repeat(row, 4, axis=0))), 4, 1)
    assert image.shape == (1, 4, 4)
    np.testing.assert_array_equal(image[0, 0] * 255, [76, 150, 29, 255])


@pytest.mark.parametrize("wide", [True, False])
def test_the_centre_square_is_cropped_when_the_shorter_side_fits(
    tmp_path: Path, wide: bool
) -> None:
    # Column (or row) i holds the value 10 i: the crop keeps 2 .. 5 of 0 .. 7.
    ramp = np.broadcast_to(np.arange(8, dtype=np.uint8) * 10, (4, 8))
    pixels = ramp if wide else ramp.T
    image = read_image(str(write_image(tmp_path / "r.png", pixels)), 4)
    expected = np.broadcast_to(np.arange(2, 6) * 10, (4, 4))
    np.testing.assert_array_equal(image[0] * 255, expected if wide else expected.T)


def test_shrinking_is_bilinear_over_the_scaled_support(tmp_path: Path) -> None:
    # A 10 x 20 image, black left of column 10, white right. Halved to 5 x 10, output column
    # j is centred at input 2j + 1 and weighs the inputs within 2 by 1 - d / 2: column 4 is
    # (0.25 + 0.75 + 0.75 + 0.25 white * 0.25) / 2 = 1/8 white, column 5 is 7/8 white.
    # The centre crop keeps columns 2 .. 6.
    pixels = np.zeros((10, 20), np.uint8)
    pixels[:, 10:] = 255
    image = read_image(str(write_image(tmp_path / "h.png", pixels)), 5)
    assert image.shape == (3, 5, 5)
    np.testing.assert_allclose(image[1] * 255, [[0, 0, 31.875, 223.125, 255]] * 5, atol=0.6)


def test_a_solid_jpeg_keeps_its_colour_through_the_shrinking_decoder(tmp_path: Path) -> None:
    path = write_image(tmp_path / "big.jpg", solid((200, 100, 50), 256, 384), quality=95)
    image = read_image(str(path), 8)
    assert image.shape == (3, 8, 8)
    np.testing.assert_allclose(image * 255, np.broadcast_to([[[200]], [[100]], [[50]]], (3, 8, 8)),
                               atol=3)  # fmt: skip


def test_an_image_that_cannot_be_decoded_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "text.png").write_bytes(b"not an image")
    with pytest.raises(ValueError) as error:
        read_image(str(tmp_path / "text.png"), 4)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'text.png'}: cannot decode the image (")
    assert message.endswith("replace or remove the file") and "\n" not in message
    whole = write_image(tmp_path / "whole.png", solid((1, 2, 3), 16, 16)).read_bytes()
    (tmp_path / "cut.png").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"cut\.png: cannot decode the image"):
        read_image(str(tmp_path / "cut.png"), 4)
    with pytest.raises(ValueError, match=r"^list line 2: .*text\.png: cannot decode"):
        read_images([str(tmp_path / "whole.png"), str(tmp_path / "text.png")], 4,
                    sources=["list line 1", "list line 2"])  # fmt: skip


def test_many_images_fill_one_array(tmp_path: Path) -> None:
    paths = [str(write_image(tmp_path / f"{v}.png", solid((v, v, v)))) for v in (0, 128, 255)]
    images = read_images(paths, 2, 1)
    assert images.shape == (3, 1, 2, 2)
    np.testing.assert_array_equal(images[:, 0, 0, 0] * 255, [0, 128, 255])
