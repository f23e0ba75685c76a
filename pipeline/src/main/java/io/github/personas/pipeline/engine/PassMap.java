package io.github.personas.pipeline.engine;

import static io.github.personas.pipeline.engine.KeyedPass.BUFFER_BYTES;
import static io.github.personas.pipeline.engine.KeyedPass.COUNTS;
import static io.github.personas.pipeline.engine.KeyedPass.HASHES;
import static io.github.personas.pipeline.engine.KeyedPass.RECORDS;
import static io.github.personas.pipeline.engine.KeyedPass.SIDE;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.unsafe.types.UTF8String;
import scala.Tuple2;

/**
 * Map side: reads a partition of projected rows, counts classes, and writes blocks of kept
 * records (by group, or by input partition), of key hashes (by hash), of rows set aside, and
 * of the class counts. Each record starts with a header: whether it has a key, the key's
 * hashes, and its position after the previous record's.
 */
final class PassMap implements
    org.apache.spark.api.java.function.PairFlatMapFunction<Iterator<InternalRow>, Integer, byte[]> {
  private final PassLayout layout;
  private final String keepClass;
  private final int n;

  PassMap(PassLayout layout, String keepClass, int n) {
    this.layout = layout;
    this.keepClass = keepClass;
    this.n = n;
  }

  @Override
  public Iterator<Tuple2<Integer, byte[]>> call(Iterator<InternalRow> rows) {
    int map = TaskContext.getPartitionId();
    UTF8String keep = UTF8String.fromString(keepClass);
    int recordBlock = Math.max(16 << 10, Math.min(1 << 20, BUFFER_BYTES / 2 / n));
    int hashBlock = Math.max(1024, recordBlock / 12);
    ByteSink[] records = new ByteSink[n];
    RecordCodec.Writer[] writers = new RecordCodec.Writer[n];
    int[] recordCount = new int[n];
    int[] lastPosition = new int[n];
    long[][] h1 = new long[n][];
    int[][] h2 = new int[n][];
    int[][] place = new int[n][];
    int[] hashCount = new int[n];
    ByteSink side = new ByteSink(1024);
    RecordCodec.Writer sideWriter = layout.side.writer();
    int[] sideCount = {0};
    Map<UTF8String, long[]> counts = new HashMap<>();
    long[] kept = {0};
    // The range of the first order column over the kept rows; empty while min > max.
    long[] range = {Long.MAX_VALUE, Long.MIN_VALUE};
    ArrayDeque<Tuple2<Integer, byte[]>> out = new ArrayDeque<>();
    int fileOrdinal = PassLayout.FIELDS + layout.file;
    int blockOrdinal = PassLayout.FIELDS + layout.block;
    int groupOrdinal = PassLayout.FIELDS + layout.group;

    return new Iterator<>() {
      private boolean done;
      private UTF8String file;
      private long block = Long.MIN_VALUE;
      private int position;
      /** Positions reached in blocks left for another, should their rows come back. */
      private final Map<Tuple2<UTF8String, Long>, Integer> positions = new HashMap<>();

      @Override
      public boolean hasNext() {
        while (out.isEmpty() && !done) {
          if (!rows.hasNext()) {
            done = true;
            finish();
            break;
          }
          InternalRow r = rows.next();
          // Every row has a place: its position counts from the start of its file's block. A
          // task reads a block's rows in order, usually one block after another.
          long b = r.getLong(blockOrdinal);
          UTF8String f = r.getUTF8String(fileOrdinal);
          if (b != block || !f.equals(file)) {
            if (file != null) {
              positions.put(new Tuple2<>(file, block), position);
            }
            block = b;
            file = f.clone();
            Integer seen = positions.get(new Tuple2<>(file, block));
            position = seen == null ? 0 : seen;
          }
          int at = position++;
          UTF8String c = r.getUTF8String(PassLayout.CLASS);
          if (!c.equals(keep)) {
            long[] k = counts.get(c);
            if (k == null) {
              counts.put(c.clone(), new long[] {1});
            } else {
              k[0]++;
            }
            if (r.getBoolean(PassLayout.SIDE_FLAG)) {
              sideWriter.write(r, layout.sideOrdinals, side);
              sideCount[0]++;
              if (side.size() >= recordBlock) {
                flushSide();
              }
            }
            continue;
          }
          kept[0]++;
          if (layout.rangeOrdinal >= 0 && !r.isNullAt(layout.rangeOrdinal)) {
            long v = r.getLong(layout.rangeOrdinal);
            range[0] = Math.min(range[0], v);
            range[1] = Math.max(range[1], v);
          }
          boolean keyed = !r.isNullAt(PassLayout.H1);
          int dest = map % n;
          if (layout.folding) {
            if (r.isNullAt(groupOrdinal)) {
              throw new IllegalStateException("A kept row has no group: the pass's group column must not be null");
            }
            dest = Math.floorMod(r.getUTF8String(groupOrdinal).hashCode(), n);
          }
          if (keyed) {
            long a = r.getLong(PassLayout.H1);
            int hb = Math.floorMod(a, n);
            if (h1[hb] == null) {
              h1[hb] = new long[hashBlock];
              h2[hb] = new int[hashBlock];
              place[hb] = new int[hashBlock];
            }
            h1[hb][hashCount[hb]] = a;
            h2[hb][hashCount[hb]] = r.getInt(PassLayout.H2);
            place[hb][hashCount[hb]] = dest;
            if (++hashCount[hb] == hashBlock) {
              flushHashes(hb);
            }
          }
          ByteSink sink = records[dest];
          if (sink == null) {
            sink = new ByteSink(recordBlock + 1024);
            records[dest] = sink;
            writers[dest] = layout.records.writer();
            startBlock(sink, RECORDS, map);
          }
          sink.putByte(keyed ? 1 : 0);
          if (keyed) {
            sink.putLong(r.getLong(PassLayout.H1));
            sink.putInt(r.getInt(PassLayout.H2));
          }
          sink.putSignedVarInt(at - lastPosition[dest]);
          lastPosition[dest] = at;
          writers[dest].write(r, layout.recordOrdinals, sink);
          recordCount[dest]++;
          if (sink.size() >= recordBlock) {
            flushRecords(dest);
          }
        }
        return !out.isEmpty();
      }

      private void startBlock(ByteSink sink, int type, int mapIndex) {
        sink.clear();
        sink.putByte(type);
        sink.putVarInt(mapIndex);
      }

      private void flushRecords(int dest) {
        ByteSink sink = records[dest];
        if (sink == null || recordCount[dest] == 0) {
          return;
        }
        out.add(new Tuple2<>(dest, sink.toByteArray()));
        startBlock(sink, RECORDS, map);
        writers[dest].reset();
        recordCount[dest] = 0;
        lastPosition[dest] = 0;
      }

      private void flushHashes(int hb) {
        int count = hashCount[hb];
        if (count == 0) {
          return;
        }
        ByteSink sink = new ByteSink(count * 14 + 16);
        startBlock(sink, HASHES, map);
        sink.putVarInt(count);
        for (int i = 0; i < count; i++) {
          sink.putLong(h1[hb][i]);
        }
        for (int i = 0; i < count; i++) {
          sink.putInt(h2[hb][i]);
        }
        for (int i = 0; i < count; i++) {
          sink.putChar(place[hb][i]);
        }
        out.add(new Tuple2<>(n + hb, sink.toByteArray()));
        hashCount[hb] = 0;
      }

      private void flushSide() {
        if (sideCount[0] == 0) {
          return;
        }
        ByteSink block = new ByteSink(side.size() + 16);
        startBlock(block, SIDE, map);
        block.putBytes(side.toByteArray(), 0, side.size());
        out.add(new Tuple2<>(2 * n + map % n, block.toByteArray()));
        side.clear();
        sideWriter.reset();
        sideCount[0] = 0;
      }

      private void finish() {
        for (int d = 0; d < n; d++) {
          flushRecords(d);
          flushHashes(d);
        }
        flushSide();
        counts.put(keep.clone(), kept);
        ByteSink sink = new ByteSink(256);
        startBlock(sink, COUNTS, map);
        sink.putVarInt(counts.size());
        counts.forEach((c, k) -> {
          sink.putString(c);
          sink.putLong(k[0]);
        });
        sink.putLong(range[0]);
        sink.putLong(range[1]);
        out.add(new Tuple2<>(n + map % n, sink.toByteArray()));
      }

      @Override
      public Tuple2<Integer, byte[]> next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return out.poll();
      }
    };
  }
}

