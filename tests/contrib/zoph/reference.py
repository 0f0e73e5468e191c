"""A hand-written 5-block genotype the Zoph tests share, and what it implies."""

GENOTYPE = {
    "normal": [
        [["sep_conv_3x3", 1], ["identity", 1]],
        [["sep_conv_5x5", 0], ["sep_conv_3x3", 1]],
        [["avg_pool_3x3", 1], ["identity", 0]],
        [["max_pool_3x3", 2], ["dil_conv_3x3", 3]],
        [["conv_1x7_7x1", 0], ["sep_conv_7x7", 4]],
    ],
    "reduce": [
        [["sep_conv_5x5", 1], ["sep_conv_7x7", 0]],
        [["max_pool_3x3", 1], ["sep_conv_7x7", 0]],
        [["avg_pool_3x3", 1], ["sep_conv_5x5", 0]],
        [["identity", 3], ["avg_pool_3x3", 2]],
        [["sep_conv_3x3", 2], ["max_pool_3x3", 1]],
    ],
}  # fmt: skip

# No block reads these, so the cells concatenate them (normal: b0, b1, b2 are read).
UNUSED = {"normal": [3, 4], "reduce": [2, 3, 4]}
