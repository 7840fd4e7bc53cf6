"""``SequenceConv1d.over_time`` (FastPitch's convolutions as one matrix product over shifted
copies) against PyTorch's own convolution on the same weights."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from fastpitch_tpu.models.sequence_conv import SequenceConv1d  # noqa: E402


@pytest.mark.parametrize("c_in,c_out,k,pad", [(1, 8, 3, 1), (16, 24, 3, 1), (12, 5, 1, 0),
                                              (7, 9, 5, 2), (4, 6, 3, 0), (3, 3, 4, 2)])
def test_over_time_equals_the_convolution(c_in: int, c_out: int, k: int, pad: int) -> None:
    torch.manual_seed(k * 100 + c_in)
    conv = SequenceConv1d(c_in, c_out, k, padding=pad).double()
    for batch, steps in ((1, 1), (2, 9), (3, 40)):
        x = torch.randn(batch, steps, c_in, dtype=torch.float64)
        if steps + 2 * pad < k:
            continue
        expected = torch.nn.functional.conv1d(x.transpose(1, 2), conv.weight, conv.bias,
                                              padding=pad).transpose(1, 2)
        got = conv.over_time(x)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    # The channels-first forward of nn.Conv1d is untouched.
    x = torch.randn(2, c_in, 11, dtype=torch.float64)
    torch.testing.assert_close(conv(x), torch.nn.functional.conv1d(x, conv.weight, conv.bias,
                                                                   padding=pad))


def test_without_bias_and_state_dict_names() -> None:
    conv = SequenceConv1d(4, 6, 3, padding=1, bias=False)
    assert list(conv.state_dict()) == ["weight"]
    x = torch.randn(2, 7, 4)
    torch.testing.assert_close(conv.over_time(x),
                               conv(x.transpose(1, 2)).transpose(1, 2), rtol=1e-5, atol=1e-6)


def test_other_convolutions_are_refused() -> None:
    x = torch.randn(1, 8, 4)
    for conv in (SequenceConv1d(4, 4, 3, dilation=2), SequenceConv1d(4, 4, 3, stride=2),
                 SequenceConv1d(4, 4, 3, groups=2), SequenceConv1d(4, 4, 3, padding="same")):
        with pytest.raises(ValueError, match="stride 1, dilation 1"):
            conv.over_time(x)
