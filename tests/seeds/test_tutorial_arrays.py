"""The single-array examples of the Zarr v2 tutorial (seeds/zarr-v2-tutorial.txt),
run with ``import zarrflow as zarr`` and checked against the tutorial's output.

Storage sizes and ratios in the tutorial came from older compression libraries; those
lines are checked against zarr-python 2.18 running today's numcodecs instead.
"""

from __future__ import annotations

import lzma
import pickle

import numcodecs
import numpy as np
import pytest
from numcodecs import LZMA, Blosc, Delta, Zstd

import zarrflow as zarr
import zarrflow.storage
from tests.seeds.text import seed_name, squash

STORAGE_LINES = ("No. bytes stored", "Storage ratio")


def without_storage_lines(text: str) -> str:
    return squash("\n".join(line for line in str(text).splitlines() if not line.startswith(STORAGE_LINES)))


def storage_lines(text: str) -> list[str]:
    return [squash(line) for line in str(text).splitlines() if line.startswith(STORAGE_LINES)]


def test_create_fill_and_read():
    z = zarr.zeros((10000, 10000), chunks=(1000, 1000), dtype="i4")
    assert repr(z) == "<zarrflow.Array (10000, 10000) int32>"
    z[:] = 42
    z[0, :] = np.arange(10000)
    z[:, 0] = np.arange(10000)
    assert z[0, 0] == 0
    assert z[-1, -1] == 42
    assert squash(repr(z[0, :])) == "array([ 0, 1, 2, ..., 9997, 9998, 9999], dtype=int32)"
    assert squash(repr(z[:, 0])) == "array([ 0, 1, 2, ..., 9997, 9998, 9999], dtype=int32)"
    assert squash(repr(z[:])) == squash(
        "array([[ 0, 1, 2, ..., 9997, 9998, 9999], [ 1, 42, 42, ..., 42, 42, 42], "
        "[ 2, 42, 42, ..., 42, 42, 42], ..., [9997, 42, 42, ..., 42, 42, 42], "
        "[9998, 42, 42, ..., 42, 42, 42], [9999, 42, 42, ..., 42, 42, 42]], dtype=int32)"
    )


def test_persistent_array(in_tmp_cwd):
    z1 = zarr.open("data/example.zarr", mode="w", shape=(10000, 10000), chunks=(1000, 1000), dtype="i4")
    z1[:] = 42
    z1[0, :] = np.arange(10000)
    z1[:, 0] = np.arange(10000)
    z2 = zarr.open("data/example.zarr", mode="r")
    assert np.all(z1[:] == z2[:])
    assert (in_tmp_cwd / "data/example.zarr/.zarray").is_file()
    assert (in_tmp_cwd / "data/example.zarr/9.9").is_file()


def test_save_and_load(in_tmp_cwd):
    a = np.arange(10)
    zarr.save("data/example.zarr", a)
    loaded = zarr.load("data/example.zarr")
    assert repr(loaded) == "array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"


def test_resize():
    z = zarr.zeros(shape=(10000, 10000), chunks=(1000, 1000))
    z[:] = 42
    z.resize(20000, 10000)
    assert z.shape == (20000, 10000)
    assert z.nchunks_initialized == 100
    assert z[19999, 0] == 0 and z[9999, 9999] == 42


def test_append():
    a = np.arange(10000000, dtype="i4").reshape(10000, 1000)
    z = zarr.array(a, chunks=(1000, 100))
    assert z.shape == (10000, 1000)
    assert z.append(a) == (20000, 1000)
    assert z.append(np.vstack([a, a]), axis=1) == (20000, 2000)
    assert z.shape == (20000, 2000)
    np.testing.assert_array_equal(z[10000:, :1000], a)
    np.testing.assert_array_equal(z[:, 1000:], np.vstack([a, a]))


def test_blosc_compressor_and_info(zarr2):
    compressor = Blosc(cname="zstd", clevel=3, shuffle=Blosc.BITSHUFFLE)
    data = np.arange(100000000, dtype="i4").reshape(10000, 10000)
    z = zarr.array(data, chunks=(1000, 1000), compressor=compressor)
    assert repr(z.compressor) == "Blosc(cname='zstd', clevel=3, shuffle=BITSHUFFLE, blocksize=0)"
    seed = (
        "Type : zarr.core.Array Data type : int32 Shape : (10000, 10000) Chunk shape : (1000, 1000) "
        "Order : C Read-only : False Compressor : Blosc(cname='zstd', clevel=3, shuffle=BITSHUFFLE, "
        ": blocksize=0) Store type : builtins.dict No. bytes : 400000000 (381.5M) "
        "Chunks initialized : 100/100"
    )
    assert without_storage_lines(z.info) == seed_name(seed)
    theirs = zarr2.run(
        """
        from numcodecs import Blosc
        data = np.arange(100000000, dtype='i4').reshape(10000, 10000)
        z = zarr.array(data, chunks=(1000, 1000), compressor=Blosc(cname='zstd', clevel=3, shuffle=Blosc.BITSHUFFLE))
        result = [z.nbytes_stored, repr(z.info)]
        """
    )
    assert z.nbytes_stored == theirs[0]
    assert storage_lines(z.info) == storage_lines(theirs[1])


def test_blosc_compressor_list_is_numcodecs():
    from numcodecs import blosc

    assert blosc.list_compressors() == ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]


def test_zstd_and_lzma_compressors():
    z = zarr.array(np.arange(100000000, dtype="i4").reshape(10000, 10000), chunks=(1000, 1000),
                   compressor=Zstd(level=1))
    assert repr(z.compressor) == "Zstd(level=1)"
    lzma_filters = [dict(id=lzma.FILTER_DELTA, dist=4), dict(id=lzma.FILTER_LZMA2, preset=1)]
    compressor = LZMA(filters=lzma_filters)
    z = zarr.array(np.arange(1000000, dtype="i4").reshape(1000, 1000), chunks=(100, 100), compressor=compressor)
    assert repr(z.compressor) == (
        "LZMA(format=1, check=-1, preset=None, filters=[{'dist': 4, 'id': 3}, {'id': 33, 'preset': 1}])"
    )
    np.testing.assert_array_equal(z[:], np.arange(1000000, dtype="i4").reshape(1000, 1000))


def test_default_compressor_is_read_at_creation_time():
    zarrflow.storage.default_compressor = Zstd(level=1)
    z = zarr.zeros(100000000, chunks=1000000)
    assert repr(z.compressor) == "Zstd(level=1)"
    zarrflow.storage.default_compressor = Blosc()
    z = zarr.zeros(100, chunks=10)
    assert repr(z.compressor) == "Blosc(cname='lz4', clevel=5, shuffle=SHUFFLE, blocksize=0)"


def test_no_compression():
    z = zarr.zeros(100000000, chunks=1000000, compressor=None)
    assert z.compressor is None
    z[:10] = 7
    assert z[:11].tolist() == [7] * 10 + [0]


def test_delta_filter_info(zarr2):
    filters = [Delta(dtype="i4")]
    compressor = Blosc(cname="zstd", clevel=1, shuffle=Blosc.SHUFFLE)
    data = np.arange(100000000, dtype="i4").reshape(10000, 10000)
    z = zarr.array(data, chunks=(1000, 1000), filters=filters, compressor=compressor)
    seed = (
        "Type : zarr.core.Array Data type : int32 Shape : (10000, 10000) Chunk shape : (1000, 1000) "
        "Order : C Read-only : False Filter [0] : Delta(dtype='<i4') Compressor : Blosc(cname='zstd', "
        "clevel=1, shuffle=SHUFFLE, blocksize=0) Store type : builtins.dict No. bytes : 400000000 (381.5M) "
        "Chunks initialized : 100/100"
    )
    assert without_storage_lines(z.info) == seed_name(seed)
    theirs = zarr2.run(
        """
        from numcodecs import Blosc, Delta
        data = np.arange(100000000, dtype='i4').reshape(10000, 10000)
        z = zarr.array(data, chunks=(1000, 1000), filters=[Delta(dtype='i4')],
                       compressor=Blosc(cname='zstd', clevel=1, shuffle=Blosc.SHUFFLE))
        result = repr(z.info)
        """
    )
    assert storage_lines(z.info) == storage_lines(theirs)
    np.testing.assert_array_equal(z[123:456, 789:1011], data[123:456, 789:1011])


def test_coordinate_selection():
    z = zarr.array(np.arange(10))
    assert repr(z[:]) == "array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"
    assert repr(z.get_coordinate_selection([1, 4])) == "array([1, 4])"
    z.set_coordinate_selection([1, 4], [-1, -2])
    assert repr(z[:]) == "array([ 0, -1,  2,  3, -2,  5,  6,  7,  8,  9])"
    z = zarr.array(np.arange(15).reshape(3, 5))
    assert z.get_coordinate_selection(([0, 2], [1, 3])).tolist() == [1, 13]
    z.set_coordinate_selection(([0, 2], [1, 3]), [-1, -2])
    assert z[:].tolist() == [[0, -1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, -2, 14]]
    assert z.vindex[[0, 2], [1, 3]].tolist() == [-1, -2]
    z.vindex[[0, 2], [1, 3]] = [-3, -4]
    assert z[:].tolist() == [[0, -3, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, -4, 14]]


def test_mask_selection():
    z = zarr.array(np.arange(10))
    sel = np.zeros_like(z, dtype=bool)
    sel[1] = True
    sel[4] = True
    assert z.get_mask_selection(sel).tolist() == [1, 4]
    z.set_mask_selection(sel, [-1, -2])
    assert z[:].tolist() == [0, -1, 2, 3, -2, 5, 6, 7, 8, 9]
    z = zarr.array(np.arange(15).reshape(3, 5))
    sel = np.zeros_like(z, dtype=bool)
    sel[0, 1] = True
    sel[2, 3] = True
    assert z.get_mask_selection(sel).tolist() == [1, 13]
    z.set_mask_selection(sel, [-1, -2])
    assert z[:].tolist() == [[0, -1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, -2, 14]]
    assert z.vindex[sel].tolist() == [-1, -2]
    z.vindex[sel] = [-3, -4]
    assert z[:].tolist() == [[0, -3, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, -4, 14]]


def test_orthogonal_selection():
    z = zarr.array(np.arange(15).reshape(3, 5))
    assert z.get_orthogonal_selection(([0, 2], slice(None))).tolist() == [[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]]
    assert z.get_orthogonal_selection((slice(None), [1, 3])).tolist() == [[1, 3], [6, 8], [11, 13]]
    assert z.get_orthogonal_selection(([0, 2], [1, 3])).tolist() == [[1, 3], [11, 13]]
    z.set_orthogonal_selection(([0, 2], [1, 3]), [[-1, -2], [-3, -4]])
    assert z[:].tolist() == [[0, -1, 2, -2, 4], [5, 6, 7, 8, 9], [10, -3, 12, -4, 14]]
    z = zarr.array(np.arange(15).reshape(3, 5))
    assert z.oindex[[0, 2], :].tolist() == [[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]]
    assert z.oindex[:, [1, 3]].tolist() == [[1, 3], [6, 8], [11, 13]]
    assert z.oindex[[0, 2], [1, 3]].tolist() == [[1, 3], [11, 13]]
    z.oindex[[0, 2], [1, 3]] = [[-1, -2], [-3, -4]]
    assert z[:].tolist() == [[0, -1, 2, -2, 4], [5, 6, 7, 8, 9], [10, -3, 12, -4, 14]]


def test_structured_fields():
    a = np.array([(b"aaa", 1, 4.2), (b"bbb", 2, 8.4), (b"ccc", 3, 12.6)],
                 dtype=[("foo", "S3"), ("bar", "i4"), ("baz", "f8")])
    z = zarr.array(a)
    assert repr(z["foo"]) == "array([b'aaa', b'bbb', b'ccc'], dtype='|S3')"
    assert squash(repr(z["baz"])) == "array([ 4.2, 8.4, 12.6])"
    assert repr(z.get_basic_selection(slice(0, 2), fields="bar")) == "array([1, 2], dtype=int32)"
    assert repr(z.get_coordinate_selection([0, 2], fields=["foo", "baz"])) == (
        "array([(b'aaa',  4.2), (b'ccc', 12.6)],\n      dtype=[('foo', 'S3'), ('baz', '<f8')])"
    )


def test_fixed_length_strings():
    z = zarr.zeros(10, dtype="S6")
    assert repr(z) == "<zarrflow.Array (10,) |S6>"
    z[0] = b"Hello"
    z[1] = b"world!"
    assert z[:].tolist() == [b"Hello", b"world!"] + [b""] * 8
    assert z[:].dtype == np.dtype("S6")


GREETINGS = ["¡Hola mundo!", "Hej Världen!", "Servus Woid!", "Hei maailma!", "Xin chào thế giới",
             "Njatjeta Botë!", "Γεια σου κόσμε!", "こんにちは世界", "世界,你好!", "Helló, világ!",
             "Zdravo svete!", "เฮลโลเวิลด์"]


def test_unicode_and_variable_length_strings():
    text_data = GREETINGS * 10000
    z = zarr.array(text_data, dtype="U20")
    assert repr(z) == "<zarrflow.Array (120000,) <U20>"
    assert z[:].tolist() == text_data
    z = zarr.array(text_data, dtype=object, object_codec=numcodecs.VLenUTF8())
    assert repr(z) == "<zarrflow.Array (120000,) object>"
    assert repr(z.filters) == "[VLenUTF8()]"
    assert z[:].tolist() == text_data
    z = zarr.array(text_data, dtype=str)
    assert repr(z.filters) == "[VLenUTF8()]"
    assert z[:].tolist() == text_data
    bytes_data = [g.encode("utf-8") for g in GREETINGS] * 10000
    z = zarr.array(bytes_data, dtype=bytes)
    assert repr(z) == "<zarrflow.Array (120000,) object>"
    assert repr(z.filters) == "[VLenBytes()]"
    assert z[:].tolist() == bytes_data
    categorize = numcodecs.Categorize(GREETINGS, dtype=object)
    z = zarr.array(text_data, dtype=object, object_codec=categorize)
    assert repr(z.filters) == (
        "[Categorize(dtype='|O', astype='|u1', labels=['¡Hola mundo!', 'Hej Världen!', 'Servus Woid!', ...])]"
    )
    assert z[:].tolist() == text_data


def test_object_arrays():
    z = zarr.empty(5, dtype=object, object_codec=numcodecs.JSON())
    z[0] = 42
    z[1] = "foo"
    z[2] = ["bar", "baz", "qux"]
    z[3] = {"a": 1, "b": 2.2}
    assert repr(z[:]) == "array([42, 'foo', list(['bar', 'baz', 'qux']), {'a': 1, 'b': 2.2}, None],\n      dtype=object)"
    for z in (zarr.empty(4, dtype=object, object_codec=numcodecs.VLenArray(int)), zarr.empty(4, dtype="array:i8")):
        assert repr(z) == "<zarrflow.Array (4,) object>"
        assert repr(z.filters) == "[VLenArray(dtype='<i8')]"
        z[0] = np.array([1, 3, 5])
        z[1] = np.array([4])
        z[2] = np.array([7, 9, 14])
        assert squash(repr(z[:])) == (
            "array([array([1, 3, 5]), array([4]), array([ 7, 9, 14]), array([], dtype=int64)], dtype=object)"
        )


def test_chunk_shapes():
    assert zarr.zeros((10000, 10000), chunks=(100, None), dtype="i4").chunks == (100, 10000)
    assert zarr.zeros((10000, 10000), chunks=(None, 100), dtype="i4").chunks == (10000, 100)
    assert zarr.zeros((10000, 10000), chunks=(1000, 1000), dtype="i4").chunks == (1000, 1000)
    assert zarr.zeros((10000, 10000), chunks=True, dtype="i4").chunks == (625, 625)
    assert zarr.zeros((10000, 10000), chunks=False, dtype="i4").chunks == (10000, 10000)


def test_chunk_order_info(zarr2):
    a = np.arange(100000000, dtype="i4").reshape(10000, 10000).T
    c = zarr.array(a, chunks=(1000, 1000))
    f = zarr.array(a, chunks=(1000, 1000), order="F")
    common = ("Type : zarr.core.Array Data type : int32 Shape : (10000, 10000) Chunk shape : (1000, 1000) "
              "Order : {} Read-only : False Compressor : Blosc(cname='lz4', clevel=5, shuffle=SHUFFLE, "
              "blocksize=0) Store type : builtins.dict No. bytes : 400000000 (381.5M) Chunks initialized : 100/100")
    assert without_storage_lines(c.info) == seed_name(common.format("C"))
    assert without_storage_lines(f.info) == seed_name(common.format("F"))
    theirs = zarr2.run(
        """
        a = np.arange(100000000, dtype='i4').reshape(10000, 10000).T
        result = [zarr.array(a, chunks=(1000, 1000)).nbytes_stored,
                  zarr.array(a, chunks=(1000, 1000), order='F').nbytes_stored]
        """
    )
    assert [c.nbytes_stored, f.nbytes_stored] == theirs
    assert f.nbytes_stored < c.nbytes_stored  # the tutorial's point: F order compresses better here
    np.testing.assert_array_equal(f[:], a)


def test_rechunk_by_copy(in_tmp_cwd):
    a = zarr.zeros((10000, 10000), chunks=(100, 100), dtype="uint16", store="a.zarr")
    a[:150, :150] = 7
    b = zarr.array(a, chunks=(100, 200), store="b.zarr")
    assert b.chunks == (100, 200)
    np.testing.assert_array_equal(b[:300, :300], a[:300, :300])
    c = zarr.array(a[...], chunks=(1, 10000), store="c.zarr")
    assert c.chunks == (1, 10000) and c[149, 149] == 7 and c[150, 150] == 0


def test_pickle_in_memory_and_on_disk(in_tmp_cwd):
    z1 = zarr.array(np.arange(100000))
    s = pickle.dumps(z1)
    assert len(s) > 5000
    z2 = pickle.loads(s)
    assert z1 == z2
    assert np.all(z1[:] == z2[:])
    z3 = zarr.open("data/walnuts.zarr", mode="w", shape=100000, dtype="i8")
    z3[:] = np.arange(100000)
    s = pickle.dumps(z3)
    assert len(s) < 200
    z4 = pickle.loads(s)
    assert z3 == z4
    assert np.all(z3[:] == z4[:])


def test_datetime():
    z = zarr.array(["2007-07-13", "2006-01-13", "2010-08-13"], dtype="M8[D]")
    assert repr(z) == "<zarrflow.Array (3,) datetime64[D]>"
    assert repr(z[:]) == "array(['2007-07-13', '2006-01-13', '2010-08-13'], dtype='datetime64[D]')"
    assert repr(z[0]) == "numpy.datetime64('2007-07-13')"
    z[0] = "1999-12-31"
    assert repr(z[:]) == "array(['1999-12-31', '2006-01-13', '2010-08-13'], dtype='datetime64[D]')"


def test_copy_between_arrays_chunk_by_chunk():
    z1 = zarr.empty((10000, 10000), chunks=(1000, 1000), dtype="i4")
    z1[:] = 42
    z2 = zarr.empty_like(z1)
    z2[:] = z1
    assert z2.chunks == z1.chunks and z2.dtype == z1.dtype
    assert np.all(z2[:] == 42)


@pytest.mark.parametrize("name", ["zeros", "ones"])
def test_thread_synchronized_array_repr(name):
    z = getattr(zarr, name)((10000, 10000), chunks=(1000, 1000), dtype="i4")
    assert repr(z) == "<zarrflow.Array (10000, 10000) int32>"
