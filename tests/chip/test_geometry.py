"""ChipSpec geometry against hand-worked positions on a small board.

The board: 2 x 2 chips, each a 3 x 2 block of tiles, 2 cores per tile, so the tile mesh
is 6 x 4 (tiles numbered row-major over the whole board) and 48 cores (core c on tile
c // 2). Chip 0 holds tiles x 0-2, y 0-1; chip 1 x 3-5, y 0-1; chip 2 x 0-2, y 2-3;
chip 3 x 3-5, y 2-3. Every expected value below is read off that picture.
"""
import numpy as np
import pytest

from neurocore.chip import ChipSpec


@pytest.fixture
def board() -> ChipSpec:
    return ChipSpec(name="board", tiles_x=3, tiles_y=2, cores_per_tile=2, chips_x=2, chips_y=2)


def test_sizes(board):
    assert (board.mesh_x, board.mesh_y, board.cores_per_chip, board.n_chips, board.n_cores) == (6, 4, 12, 4, 48)


@pytest.mark.parametrize("core,tile,xy,chip", [(0, 0, (0, 0), 0), (5, 2, (2, 0), 0), (6, 3, (3, 0), 1),
                                               (13, 6, (0, 1), 0), (24, 12, (0, 2), 2), (47, 23, (5, 3), 3),
                                               (35, 17, (5, 2), 3)])
def test_core_positions(board, core, tile, xy, chip):
    assert board.tile_of(core) == tile
    assert board.core_xy(core) == xy
    assert board.chip_of(core) == chip


def test_arrays_answer_in_kind(board):
    cores = np.array([0, 6, 24, 47])
    assert board.tile_of(cores).tolist() == [0, 3, 12, 23]
    x, y = board.core_xy(cores)
    assert x.tolist() == [0, 3, 0, 5] and y.tolist() == [0, 0, 2, 3]
    assert board.chip_of(cores).tolist() == [0, 1, 2, 3]
    tx, ty = board.tile_grid()
    assert tx.shape == (24,) and (tx[7], ty[7]) == (1, 1) and (tx[23], ty[23]) == (5, 3)


def test_chips_used(board):
    assert board.chips_used([0, 5, 13]) == 1
    assert board.chips_used([0, 6, 24, 47]) == 4
    assert board.chips_used([]) == 0
    # 33 cores in order fill tiles 0-16: rows 0-1 of both upper chips and row 2 across both lower ones,
    # so 4 chips, not ceil(33 / 12) = 3 (the static-power chip count of the old estimate)
    assert board.chips_used(np.arange(33)) == 4


@pytest.mark.parametrize("src,dst,hops", [(0, 0, (0, 0, 0)), (2, 3, (1, 0, 1)), (0, 23, (5, 3, 2)),
                                          (7, 1, (0, 1, 0)), (8, 14, (0, 1, 1)), (20, 9, (1, 2, 2))])
def test_tile_hops(board, src, dst, hops):
    # XY routing: |dx| east-west links, |dy| north-south links; chip hops = chip-boundary crossings
    assert tuple(int(h) for h in board.tile_hops(src, dst)) == hops
    ew, ns, ch = board.tile_hops(np.array([src]), np.array([dst]))
    assert (int(ew[0]), int(ns[0]), int(ch[0])) == hops
