package io.github.personas.pipeline.engine;


import java.util.Iterator;
import scala.Tuple2;

/**
 * The records of a partition, one at a time, block by block in the order the blocks come:
 * each input partition's records of a destination in the order they were read.
 */
final class RecordCursor {
  private final Iterator<Tuple2<Integer, byte[]>> blocks;
  private final int type;
  private final boolean headers;
  final RecordCodec.Reader reader;
  private ByteSource in;
  /** The input partition of the current record. */
  int map;
  boolean keyed;
  long h1;
  int h2;
  /** Position of the current record in its file's block. */
  int position;

  /**
   * @param type    the block type expected
   * @param headers true when records start with the key and position header
   */
  RecordCursor(Iterator<Tuple2<Integer, byte[]>> blocks, int type, boolean headers, RecordCodec codec) {
    this.blocks = blocks;
    this.type = type;
    this.headers = headers;
    this.reader = codec.reader();
  }

  /** Moves to the next record; false when there is none. */
  boolean next() {
    while (in == null || !in.hasMore()) {
      if (!blocks.hasNext()) {
        return false;
      }
      in = new ByteSource(blocks.next()._2());
      int t = in.getByte();
      if (t != type) {
        throw new IllegalStateException("Block of type " + t + " where blocks of type " + type + " belong");
      }
      map = in.getVarInt();
      reader.reset();
      position = 0;
    }
    if (headers) {
      keyed = in.getByte() != 0;
      h1 = keyed ? in.getLong() : 0;
      h2 = keyed ? in.getInt() : 0;
      position += in.getSignedVarInt();
    }
    reader.read(in);
    return true;
  }
}

