package io.github.personas.pipeline.engine;

import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.Partitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import scala.Tuple2;

/**
 * One pass over a source's rows that counts them by class, sets some aside (a quarantine),
 * keeps one row of each repeated key by a fixed rule, and folds the kept rows by group, reading
 * the input once however many keys repeat.
 *
 * <p>The input is read by one map stage, which writes one shuffle of byte blocks, each object a
 * block of many rows: the kept rows as compact records (by group), the 96-bit hashes of their
 * keys with the record partition of each (by hash), the rows set aside, and the count of each
 * class. Small jobs then read parts of that shuffle, which Spark keeps and does not compute twice:
 * <ol>
 *   <li>the hash partitions give the class counts and the keys that occur more than once, and
 *       send each record partition the repeated keys it holds rows of;</li>
 *   <li>only if some key repeats, the records of those keys are read and the row kept of each
 *       is chosen: the smallest by the {@linkplain Spec#order() order columns}, then by its
 *       place in the input (file name, block, position in the block, then the task that read
 *       it, so two rows never tie), and that row's partition alone is told, by a 64-bit
 *       fingerprint of the row's rank;</li>
 *   <li>the records are folded, or returned, without the rows not chosen; a group's rows from
 *       one input partition are folded into one state and the states merged as the partitions'
 *       blocks arrive (on one machine, in the partitions' order), so the result is as if the
 *       dropped rows had never been there;</li>
 *   <li>the rows set aside are decoded when their Dataset is read.</li>
 * </ol>
 * A repeated key therefore costs a read of the records (2), never a second read of the input,
 * and what a task holds about repeated keys is only what its own rows need: a day delivered
 * twice (every key repeated) is slower, not out of memory. A reduce task folding more groups than
 * {@link Spec#maxGroups()} writes their states to local disk, sorted, and merges them at the end.
 * Two keys are the same when their 64-bit xxHash and 32-bit Murmur3 hashes both are: a false match
 * among a billion distinct keys has a probability below 10^-11.
 */
public final class KeyedPass {

  private static final Logger LOG = LogManager.getLogger(KeyedPass.class);

  private static final int RECORDS = 1;
  private static final int HASHES = 2;
  private static final int COUNTS = 3;
  private static final int SIDE = 4;
  private static final int NOTICES = 5;
  private static final int WINNER = 6;
  /** What a map task may hold in blocks not yet written, over all destinations. */
  private static final int BUFFER_BYTES = 32 << 20;
  /** Groups a reduce task folds in memory before it writes their states to disk, by default. */
  public static final int DEFAULT_MAX_GROUPS = 250_000;

  /**
   * What a pass does with each row; every string is Spark SQL over the input's columns.
   *
   * @param rowClass    the class of a row (a non-null string); every class is counted
   * @param keepClass   the class of the rows that go on
   * @param side        true for the rows of other classes that are set aside; null for none
   * @param sideColumns the columns of the rows set aside, each {@code expr AS name}
   * @param key         the key of a kept row (a string); null keys never repeat. Null: no key
   * @param order       of the kept rows of one key, the one kept is the smallest by these
   *                    (bigint or string each), then by its place in the input
   * @param file        the file a row was read from (a string), or null for none
   * @param block       where in the file the row's input split starts (a bigint), or null. The
   *                    place of a row counts from there, so the rows of one block must reach the
   *                    pass in file order and from one task, as a file scan gives them: a shuffle
   *                    between the scan and the pass would lose "first in the file" (never the
   *                    uniqueness of the row kept)
   * @param group       the column of the kept rows' group for a fold; null to return the rows
   * @param record      the columns of the returned rows, each {@code expr AS name}, when not folding
   * @param maxGroups   groups a reduce task folds in memory before spilling their states to disk
   */
  public record Spec(String rowClass, String keepClass, String side, List<String> sideColumns, String key,
                     List<String> order, String file, String block, String group, List<String> record,
                     int maxGroups) {
    public Spec {
      Objects.requireNonNull(rowClass, "rowClass");
      Objects.requireNonNull(keepClass, "keepClass");
      sideColumns = List.copyOf(sideColumns);
      order = List.copyOf(order);
      record = List.copyOf(record);
      if (side != null && sideColumns.isEmpty()) {
        throw new IllegalArgumentException("Rows set aside need columns");
      }
      if (maxGroups < 1) {
        throw new IllegalArgumentException("maxGroups must be at least 1, got " + maxGroups);
      }
    }

    /** With {@link #DEFAULT_MAX_GROUPS}. */
    public Spec(String rowClass, String keepClass, String side, List<String> sideColumns, String key,
                List<String> order, String file, String block, String group, List<String> record) {
      this(rowClass, keepClass, side, sideColumns, key, order, file, block, group, record, DEFAULT_MAX_GROUPS);
    }

    /** The same pass, folding by {@code groupColumn}. */
    public Spec foldingBy(String groupColumn) {
      return new Spec(rowClass, keepClass, side, sideColumns, key, order, file, block, groupColumn, record,
          maxGroups);
    }

    /** The same pass, spilling above {@code groups} groups per reduce task. */
    public Spec withMaxGroups(int groups) {
      return new Spec(rowClass, keepClass, side, sideColumns, key, order, file, block, group, record, groups);
    }
  }

  /**
   * What a pass found. Both Datasets read the pass's shuffle: computing them reads no input.
   *
   * @param classes      rows per class, the kept class included
   * @param duplicates   kept rows dropped because an earlier row had their key
   * @param repeatedKeys keys that more than one kept row had
   * @param side         the rows set aside ({@link Spec#sideColumns()})
   * @param rows         the fold's rows (group column, then the fold's output) or the kept rows
   *                     ({@link Spec#record()}), without the dropped ones
   */
  public record Result(Map<String, Long> classes, long duplicates, long repeatedKeys, Dataset<Row> side,
                       Dataset<Row> rows) {}

  private KeyedPass() {}

  /**
   * Runs the pass: reads the input once and decides which rows to drop; the Datasets of the
   * result are computed from the pass's shuffle when they are read.
   *
   * @param fold   the per-group fold, or null to return the kept rows
   * @param caches owner of what the pass caches
   */
  public static Result run(Dataset<Row> input, Spec spec, Fold<?> fold, Caches caches) {
    if (fold != null && spec.group() == null) {
      throw new IllegalArgumentException("A fold needs a group column");
    }
    SparkSession spark = input.sparkSession();
    int n = Math.max(1, Integer.parseInt(spark.conf().get("spark.sql.shuffle.partitions")));
    if (n > 65_535) {
      throw new IllegalArgumentException("spark.sql.shuffle.partitions is " + n + "; the pass takes at most 65,535");
    }

    // One projection: class, side flag, key hashes, then the record's fields, then the side columns.
    List<Column> cols = new ArrayList<>();
    cols.add(functions.expr(spec.rowClass()));
    cols.add(spec.side() == null ? functions.lit(false) : functions.coalesce(functions.expr(spec.side()),
        functions.lit(false)));
    Column key = spec.key() == null ? functions.lit(null).cast(DataTypes.StringType) : functions.expr(spec.key());
    cols.add(functions.when(key.isNotNull(), functions.xxhash64(key)));
    cols.add(functions.when(key.isNotNull(), functions.hash(key)));
    // A record's fields: the fold's inputs (or the returned columns) first, so a fold reads them
    // where they are; then the group, the order columns and the row's place in the input.
    List<Column> fields = new ArrayList<>();
    List<String> values = fold != null ? fold.inputs() : spec.record();
    values.forEach(s -> fields.add(functions.expr(s)));
    if (fold != null) {
      fields.add(functions.col(spec.group()).cast(DataTypes.StringType));
    }
    for (String o : spec.order()) {
      fields.add(functions.expr(o));
    }
    fields.add(spec.file() == null ? functions.lit("") : functions.coalesce(functions.expr(spec.file()),
        functions.lit("")));
    // Rows without a block (not read from a file) count their place within their partition.
    Column ownBlock = functions.lit(-1L).minus(functions.spark_partition_id().cast(DataTypes.LongType));
    fields.add(spec.block() == null ? ownBlock
        : functions.coalesce(functions.expr(spec.block()).cast(DataTypes.LongType), ownBlock));
    cols.addAll(fields);
    spec.sideColumns().forEach(s -> cols.add(functions.expr(s)));
    Dataset<Row> projected = input.select(cols.toArray(Column[]::new));
    StructType schema = projected.schema();
    Layout layout = new Layout(schema, values.size(), fold != null, spec.order().size(), spec.sideColumns().size());

    JavaPairRDD<Integer, byte[]> shuffled = projected.queryExecution().toRdd().toJavaRDD()
        .mapPartitionsToPair(new MapSide(layout, spec.keepClass(), n))
        .partitionBy(new Blocks(3 * n));

    // 1. Class counts and repeated keys, from the hash partitions; each record partition is sent
    //    the repeated keys it holds rows of.
    long t0 = System.nanoTime();
    JavaRDD<Tuple2<Integer, byte[]>> found = caches.persist(prune(shuffled, n, 2 * n).mapPartitions(new HashSide()));
    Map<String, Long> classes = new LinkedHashMap<>();
    long duplicates = 0;
    long repeated = 0;
    for (Tuple2<Integer, byte[]> summary : found.filter(t -> t._1() < 0).collect()) {
      ByteSource in = new ByteSource(summary._2());
      int entries = in.getVarInt();
      for (int i = 0; i < entries; i++) {
        classes.merge(in.getString().toString(), in.getLong(), Long::sum);
      }
      duplicates += in.getLong();
      repeated += in.getLong();
    }
    LOG.info("Pass over {} rows in {} s: {} keys repeat, {} rows to drop", classes.values().stream()
        .mapToLong(Long::longValue).sum(), seconds(t0), repeated, duplicates);

    // 2. The row kept of each repeated key, told to the record partition that holds it: the
    //    winners are computed when the records are first folded, never cached (each is 20 bytes
    //    in a block to its partition, and there is one per repeated key).
    JavaRDD<Tuple2<Integer, byte[]>> records = prune(shuffled, 0, n);
    JavaPairRDD<Integer, byte[]> keyInfo = null;
    if (repeated > 0) {
      JavaPairRDD<Integer, byte[]> notices = found.filter(t -> t._1() >= 0).mapToPair(t -> t)
          .partitionBy(new Blocks(n));
      JavaPairRDD<Integer, byte[]> winners = records.zipPartitions(notices, new Candidates(layout))
          .mapToPair(t -> t)
          .reduceByKey(KeyedPass::earlier)
          .mapPartitionsToPair(KeyedPass::winnerBlocks)
          .partitionBy(new Blocks(n));
      keyInfo = notices.union(winners);
    }

    // 3. and 4., lazily.
    RecordSide reduce = new RecordSide(layout, fold, spec.maxGroups());
    JavaRDD<Row> out = keyInfo == null
        ? records.mapPartitions(blocks -> reduce.call(blocks, java.util.Collections.emptyIterator()))
        : records.zipPartitions(keyInfo, reduce);
    Dataset<Row> rows = fold != null
        ? spark.createDataFrame(out, foldSchema(spec.group(), fold))
        : external(spark.createDataFrame(out, externalSchema(layout.recordSchema())), layout.recordSchema());
    Dataset<Row> side = external(spark.createDataFrame(prune(shuffled, 2 * n, 3 * n).mapPartitions(new SideRows(layout)),
        externalSchema(layout.sideSchema())), layout.sideSchema());
    return new Result(classes, duplicates, repeated, side, rows);
  }

  /** Blocks telling each record partition which of its rows of repeated keys are kept: key, then fingerprint of the rank. */
  private static Iterator<Tuple2<Integer, byte[]>> winnerBlocks(Iterator<Tuple2<KeyHash, Chosen>> winners) {
    Map<Integer, ByteSink> blocks = new HashMap<>();
    List<Tuple2<Integer, byte[]>> out = new ArrayList<>();
    while (winners.hasNext()) {
      Tuple2<KeyHash, Chosen> w = winners.next();
      ByteSink b = blocks.computeIfAbsent(w._2().partition(), p -> {
        ByteSink fresh = new ByteSink(1 << 12);
        fresh.putByte(WINNER);
        return fresh;
      });
      b.putLong(w._1().h1());
      b.putInt(w._1().h2());
      b.putLong(w._2().fingerprint());
      if (b.size() >= 1 << 20) {
        out.add(new Tuple2<>(w._2().partition(), b.toByteArray()));
        blocks.remove(w._2().partition());
      }
    }
    blocks.forEach((p, b) -> out.add(new Tuple2<>(p, b.toByteArray())));
    return out.iterator();
  }

  /**
   * A 64-bit fingerprint of a row's rank, by which its partition recognises the row kept: two
   * copies of one key, whose ranks always differ, share one with probability 2^-64.
   */
  static long fingerprint(byte[] rank) {
    long h = 0x9E3779B97F4A7C15L ^ rank.length;
    for (byte b : rank) {
      h = (h ^ (b & 0xFF)) * 0x100000001B3L;
      h ^= h >>> 29;
    }
    // The final mix of MurmurHash3.
    h ^= h >>> 33;
    h *= 0xFF51AFD7ED558CCDL;
    h ^= h >>> 33;
    h *= 0xC4CEB9FE1A85EC53L;
    return h ^ (h >>> 33);
  }

  private static double seconds(long t0) {
    return Math.round((System.nanoTime() - t0) / 1e7) / 100.0;
  }

  /** The partitions [from, to) of the pass's shuffle; the others are not computed. */
  private static JavaRDD<Tuple2<Integer, byte[]>> prune(JavaPairRDD<Integer, byte[]> shuffled, int from, int to) {
    return JavaRDD.fromRDD(PartitionPruningRDD.create(shuffled.rdd(), new Range(from, to)),
        scala.reflect.ClassTag$.MODULE$.apply(Tuple2.class));
  }

  /** Of two candidate rows, the one of smaller rank (bytes compared unsigned). */
  private static Chosen earlier(Chosen a, Chosen b) {
    return Arrays.compareUnsigned(a.rank(), b.rank()) <= 0 ? a : b;
  }

  /** A candidate row of a repeated key: its rank, and the record partition that holds it. */
  record Chosen(byte[] rank, int partition) implements Serializable {
    long fingerprint() {
      return KeyedPass.fingerprint(rank);
    }
  }

  private static StructType foldSchema(String group, Fold<?> fold) {
    List<StructField> f = new ArrayList<>();
    f.add(new StructField(group, DataTypes.StringType, false, org.apache.spark.sql.types.Metadata.empty()));
    f.addAll(List.of(fold.output().fields()));
    return new StructType(f.toArray(StructField[]::new));
  }

  /** The schema the codec's values come in: timestamps as bigint micros, dates as int days. */
  private static StructType externalSchema(StructType schema) {
    StructType out = new StructType();
    for (StructField f : schema.fields()) {
      DataType t = f.dataType().equals(DataTypes.TimestampType) ? DataTypes.LongType
          : f.dataType().equals(DataTypes.DateType) ? DataTypes.IntegerType : f.dataType();
      out = out.add(f.name(), t, true);
    }
    return out;
  }

  /** Turns the codec's bigint micros and int days back into timestamps and dates. */
  private static Dataset<Row> external(Dataset<Row> df, StructType schema) {
    List<Column> cols = new ArrayList<>();
    for (StructField f : schema.fields()) {
      Column c = df.col("`" + f.name().replace("`", "``") + "`");
      if (f.dataType().equals(DataTypes.TimestampType)) {
        c = functions.timestamp_micros(c);
      } else if (f.dataType().equals(DataTypes.DateType)) {
        c = functions.date_from_unix_date(c);
      }
      cols.add(c.as(f.name()));
    }
    return df.select(cols.toArray(Column[]::new));
  }

  /** Where each thing is in the projected rows, and the codecs of records and side rows. */
  private static final class Layout implements Serializable {
    static final int CLASS = 0;
    static final int SIDE_FLAG = 1;
    static final int H1 = 2;
    static final int H2 = 3;
    static final int FIELDS = 4;

    /** Record fields 0 to values - 1 are the fold's inputs or the returned columns. */
    final int values;
    final boolean folding;
    /** Record field of the group (when folding), the first order column, the file and the block. */
    final int group;
    final int firstOrder;
    final int orderCount;
    final int file;
    final int block;
    final int[] recordOrdinals;
    final int[] sideOrdinals;
    final RecordCodec records;
    final RecordCodec side;
    private final StructType schema;

    Layout(StructType schema, int values, boolean folding, int orderCount, int sideCount) {
      this.schema = schema;
      this.values = values;
      this.folding = folding;
      this.group = folding ? values : -1;
      this.firstOrder = values + (folding ? 1 : 0);
      this.orderCount = orderCount;
      this.file = firstOrder + orderCount;
      this.block = file + 1;
      int fieldCount = block + 1;
      recordOrdinals = new int[fieldCount];
      List<RecordCodec.Kind> kinds = new ArrayList<>();
      for (int i = 0; i < fieldCount; i++) {
        recordOrdinals[i] = FIELDS + i;
        DataType t = schema.fields()[FIELDS + i].dataType();
        if (i >= firstOrder && i < file && !t.equals(DataTypes.LongType) && !t.equals(DataTypes.StringType)) {
          throw new IllegalArgumentException("An order column must be a bigint or a string, not " + t.simpleString());
        }
        kinds.add(RecordCodec.Kind.of(t));
      }
      records = new RecordCodec(kinds);
      sideOrdinals = new int[sideCount];
      List<RecordCodec.Kind> sideKinds = new ArrayList<>();
      for (int i = 0; i < sideCount; i++) {
        sideOrdinals[i] = FIELDS + fieldCount + i;
        sideKinds.add(RecordCodec.Kind.of(schema.fields()[sideOrdinals[i]].dataType()));
      }
      side = new RecordCodec(sideKinds);
    }

    /** The returned columns (when not folding). */
    StructType recordSchema() {
      return new StructType(Arrays.copyOfRange(schema.fields(), FIELDS, FIELDS + values));
    }

    StructType sideSchema() {
      return new StructType(Arrays.copyOfRange(schema.fields(), FIELDS + recordOrdinals.length,
          FIELDS + recordOrdinals.length + sideOrdinals.length));
    }

    /**
     * The rank of the current record, read by the task of input partition {@code map}: its order
     * fields, file, block, position, then the task, as bytes that compare unsigned in that order.
     */
    byte[] rank(RecordCodec.Reader r, int position, int map) {
      ByteSink out = new ByteSink(64);
      for (int i = firstOrder; i < file; i++) {
        putOrdered(out, r, i);
      }
      putOrdered(out, r, file);
      putOrdered(out, r, block);
      for (int v : new int[] {position, map}) {
        out.putByte(v >>> 24);
        out.putByte(v >>> 16);
        out.putByte(v >>> 8);
        out.putByte(v);
      }
      return out.toByteArray();
    }

    private void putOrdered(ByteSink out, RecordCodec.Reader r, int i) {
      // Nulls first; a long big-endian with its sign flipped; a string's bytes with 0 escaped as 0 1, ended by 0 0.
      if (r.isNullAt(i)) {
        out.putByte(0);
        return;
      }
      out.putByte(1);
      if (records.kind(i) == RecordCodec.Kind.LONG) {
        long v = r.getLong(i) ^ Long.MIN_VALUE;
        for (int s = 56; s >= 0; s -= 8) {
          out.putByte((int) (v >>> s));
        }
      } else {
        UTF8String s = r.getUTF8String(i);
        for (byte b : s.getBytes()) {
          out.putByte(b);
          if (b == 0) {
            out.putByte(1);
          }
        }
        out.putByte(0);
        out.putByte(0);
      }
    }
  }

  /** Identity partitioner: the key of each block is its partition. */
  private static final class Blocks extends Partitioner {
    private final int partitions;

    Blocks(int partitions) {
      this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
      return partitions;
    }

    @Override
    public int getPartition(Object key) {
      return (Integer) key;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Blocks b && b.partitions == partitions;
    }

    @Override
    public int hashCode() {
      return partitions;
    }
  }

  /** Partitions [from, to), as a Scala predicate for {@link PartitionPruningRDD}. */
  private static final class Range extends scala.runtime.AbstractFunction1<Object, Object> implements Serializable {
    private final int from;
    private final int to;

    Range(int from, int to) {
      this.from = from;
      this.to = to;
    }

    @Override
    public Object apply(Object partition) {
      int p = (Integer) partition;
      return p >= from && p < to;
    }
  }

  /** A key's 96-bit hash. */
  record KeyHash(long h1, int h2) implements Serializable {}

  /**
   * Map side: reads a partition of projected rows, counts classes, and writes blocks of kept
   * records (by group, or by input partition), of key hashes (by hash), of rows set aside, and
   * of the class counts. Each record starts with a header: whether it has a key, the key's
   * hashes, and its position after the previous record's.
   */
  private static final class MapSide implements
      org.apache.spark.api.java.function.PairFlatMapFunction<Iterator<InternalRow>, Integer, byte[]> {
    private final Layout layout;
    private final String keepClass;
    private final int n;

    MapSide(Layout layout, String keepClass, int n) {
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
      ArrayDeque<Tuple2<Integer, byte[]>> out = new ArrayDeque<>();
      int fileOrdinal = Layout.FIELDS + layout.file;
      int blockOrdinal = Layout.FIELDS + layout.block;
      int groupOrdinal = Layout.FIELDS + layout.group;

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
            UTF8String c = r.getUTF8String(Layout.CLASS);
            if (!c.equals(keep)) {
              long[] k = counts.get(c);
              if (k == null) {
                counts.put(c.clone(), new long[] {1});
              } else {
                k[0]++;
              }
              if (r.getBoolean(Layout.SIDE_FLAG)) {
                sideWriter.write(r, layout.sideOrdinals, side);
                sideCount[0]++;
                if (side.size() >= recordBlock) {
                  flushSide();
                }
              }
              continue;
            }
            kept[0]++;
            boolean keyed = !r.isNullAt(Layout.H1);
            int dest = map % n;
            if (layout.folding) {
              if (r.isNullAt(groupOrdinal)) {
                throw new IllegalStateException("A kept row has no group: the pass's group column must not be null");
              }
              dest = Math.floorMod(r.getUTF8String(groupOrdinal).hashCode(), n);
            }
            if (keyed) {
              long a = r.getLong(Layout.H1);
              int hb = Math.floorMod(a, n);
              if (h1[hb] == null) {
                h1[hb] = new long[hashBlock];
                h2[hb] = new int[hashBlock];
                place[hb] = new int[hashBlock];
              }
              h1[hb][hashCount[hb]] = a;
              h2[hb][hashCount[hb]] = r.getInt(Layout.H2);
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
              sink.putLong(r.getLong(Layout.H1));
              sink.putInt(r.getInt(Layout.H2));
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

  /**
   * Reduce side of the hash partitions: sums the class counts and finds the repeated keys. Emits
   * one summary (partition -1: class counts, rows to drop, keys repeated) and, for each record
   * partition holding rows of repeated keys, a block of those keys (to that partition).
   */
  private static final class HashSide implements
      org.apache.spark.api.java.function.FlatMapFunction<Iterator<Tuple2<Integer, byte[]>>, Tuple2<Integer, byte[]>> {
    @Override
    public Iterator<Tuple2<Integer, byte[]>> call(Iterator<Tuple2<Integer, byte[]>> blocks) {
      Map<String, Long> classes = new HashMap<>();
      List<byte[]> hashBlocks = new ArrayList<>();
      long total = 0;
      while (blocks.hasNext()) {
        byte[] b = blocks.next()._2();
        ByteSource in = new ByteSource(b);
        int type = in.getByte();
        in.getVarInt();
        if (type == COUNTS) {
          int entries = in.getVarInt();
          for (int i = 0; i < entries; i++) {
            String c = in.getString().toString();
            classes.merge(c, in.getLong(), Long::sum);
          }
        } else if (type == HASHES) {
          hashBlocks.add(b);
          total += in.getVarInt();
        } else {
          throw new IllegalStateException("Block of type " + type + " in a hash partition");
        }
      }
      long[] a = new long[Math.toIntExact(total)];
      int[] c = new int[a.length];
      int[] where = new int[a.length];
      int at = 0;
      for (byte[] b : hashBlocks) {
        ByteSource in = new ByteSource(b);
        in.getByte();
        in.getVarInt();
        int count = in.getVarInt();
        for (int i = 0; i < count; i++) {
          a[at + i] = in.getLong();
        }
        for (int i = 0; i < count; i++) {
          c[at + i] = in.getInt();
        }
        for (int i = 0; i < count; i++) {
          where[at + i] = in.getChar();
        }
        at += count;
      }
      hashBlocks.clear();
      RepeatedKeys repeated = RepeatedKeys.find(a, c, where, a.length);
      List<Tuple2<Integer, byte[]>> out = new ArrayList<>();
      ByteSink summary = new ByteSink(256);
      summary.putVarInt(classes.size());
      classes.forEach((k, v) -> {
        summary.putString(org.apache.spark.unsafe.types.UTF8String.fromString(k));
        summary.putLong(v);
      });
      summary.putLong(repeated.duplicates());
      summary.putLong(repeated.size());
      out.add(new Tuple2<>(-1, summary.toByteArray()));
      Map<Integer, ByteSink> notices = new HashMap<>();
      for (int i = 0; i < repeated.size(); i++) {
        for (int p : repeated.places(i)) {
          ByteSink sink = notices.computeIfAbsent(p, x -> {
            ByteSink fresh = new ByteSink(1024);
            fresh.putByte(NOTICES);
            return fresh;
          });
          sink.putLong(repeated.h1(i));
          sink.putInt(repeated.h2(i));
        }
      }
      notices.forEach((p, sink) -> out.add(new Tuple2<>(p, sink.toByteArray())));
      return out.iterator();
    }
  }

  /**
   * What a record partition is told about repeated keys: every key it holds rows of, and for the
   * keys whose row kept is one of its rows, the fingerprint of that row's rank.
   */
  private static KeyTable keyInfo(Iterator<Tuple2<Integer, byte[]>> blocks) {
    List<byte[]> all = new ArrayList<>();
    blocks.forEachRemaining(t -> all.add(t._2()));
    KeyTable table = new KeyTable(Math.max(16, all.stream().mapToInt(b -> b.length / 12).sum()));
    for (byte[] b : all) {
      ByteSource in = new ByteSource(b);
      int type = in.getByte();
      if (type != NOTICES && type != WINNER) {
        throw new IllegalStateException("Block of type " + type + " among a partition's repeated keys");
      }
      while (in.hasMore()) {
        long h1 = in.getLong();
        int h2 = in.getInt();
        if (type == NOTICES) {
          table.add(h1, h2);
        } else {
          table.put(h1, h2, in.getLong());
        }
      }
    }
    return table;
  }

  /**
   * The records of a partition, one at a time, block by block in the order the blocks come:
   * each input partition's records of a destination in the order they were read.
   */
  private static final class Cursor {
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
    Cursor(Iterator<Tuple2<Integer, byte[]>> blocks, int type, boolean headers, RecordCodec codec) {
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

  /** The records of repeated keys, with their rank and partition. */
  private static final class Candidates implements org.apache.spark.api.java.function.FlatMapFunction2<
      Iterator<Tuple2<Integer, byte[]>>, Iterator<Tuple2<Integer, byte[]>>, Tuple2<KeyHash, Chosen>> {
    private final Layout layout;

    Candidates(Layout layout) {
      this.layout = layout;
    }

    @Override
    public Iterator<Tuple2<KeyHash, Chosen>> call(Iterator<Tuple2<Integer, byte[]>> blocks,
                                                 Iterator<Tuple2<Integer, byte[]>> notices) {
      KeyTable table = keyInfo(notices);
      int partition = TaskContext.getPartitionId();
      List<Tuple2<KeyHash, Chosen>> found = new ArrayList<>();
      Cursor c = new Cursor(blocks, RECORDS, true, layout.records);
      while (c.next()) {
        if (c.keyed && table.find(c.h1, c.h2) >= 0) {
          found.add(new Tuple2<>(new KeyHash(c.h1, c.h2), new Chosen(layout.rank(c.reader, c.position, c.map),
              partition)));
        }
      }
      return found.iterator();
    }
  }

  /**
   * Reduce side of the group or record partitions: drops the rows not kept of repeated keys and
   * folds the rest by group (one state per group and input partition, merged as they come), or
   * returns them. A fold holding more than {@code maxGroups} groups writes their states, sorted by
   * group, to a file on local disk and goes on; the files are merged at the end.
   */
  private static final class RecordSide implements org.apache.spark.api.java.function.FlatMapFunction2<
      Iterator<Tuple2<Integer, byte[]>>, Iterator<Tuple2<Integer, byte[]>>, Row> {
    private final Layout layout;
    private final Fold<?> fold;
    private final int maxGroups;

    RecordSide(Layout layout, Fold<?> fold, int maxGroups) {
      this.layout = layout;
      this.fold = fold;
      this.maxGroups = maxGroups;
    }

    @Override
    public Iterator<Row> call(Iterator<Tuple2<Integer, byte[]>> blocks, Iterator<Tuple2<Integer, byte[]>> keys) {
      KeyTable table = keys.hasNext() ? keyInfo(keys) : null;
      Cursor c = new Cursor(blocks, RECORDS, true, layout.records);
      return fold == null ? rows(c, table) : new Folding<>(layout, fold, maxGroups).fold(c, table);
    }

    private Iterator<Row> rows(Cursor c, KeyTable table) {
      int to = layout.values;
      return new Iterator<>() {
        private Row next;

        @Override
        public boolean hasNext() {
          while (next == null && c.next()) {
            if (kept(layout, table, c)) {
              Object[] v = new Object[to];
              for (int i = 0; i < to; i++) {
                v[i] = c.reader.value(i);
              }
              next = RowFactory.create(v);
            }
          }
          return next != null;
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          Row r = next;
          next = null;
          return r;
        }
      };
    }
  }

  /** False for a record of a repeated key that is not the row kept. */
  private static boolean kept(Layout layout, KeyTable table, Cursor c) {
    if (table == null || !c.keyed) {
      return true;
    }
    int slot = table.find(c.h1, c.h2);
    return slot < 0 || (table.hasValue(slot)
        && table.value(slot) == fingerprint(layout.rank(c.reader, c.position, c.map)));
  }

  /** One reduce task's fold of its records by group. */
  private static final class Folding<S> {
    private final Layout layout;
    private final Fold<S> fold;
    private final int maxGroups;
    private Map<UTF8String, Group<S>> groups = new HashMap<>();
    private final List<java.nio.file.Path> runs = new ArrayList<>();

    @SuppressWarnings("unchecked")
    Folding(Layout layout, Fold<?> fold, int maxGroups) {
      this.layout = layout;
      this.fold = (Fold<S>) fold;
      this.maxGroups = maxGroups;
    }

    /** A group's state, and the state of its rows from the input partition being read. */
    private static final class Group<S> {
      S state;
      S partial;
      int partialMap = -1;
    }

    Iterator<Row> fold(Cursor c, KeyTable table) {
      int groupField = layout.group;
      // The reader hands out the same string object while a field repeats: most rows skip the lookup.
      UTF8String lastString = null;
      Group<S> last = null;
      while (c.next()) {
        if (!kept(layout, table, c)) {
          continue;
        }
        UTF8String g = c.reader.getUTF8String(groupField);
        if (g != lastString) {
          lastString = g;
          UTF8String key = g.clone();
          last = groups.get(key);
          if (last == null) {
            if (groups.size() >= maxGroups) {
              spill();
            }
            last = new Group<>();
            groups.put(key, last);
          }
        }
        if (last.partialMap != c.map) {
          settle(last);
          last.partial = fold.create();
          last.partialMap = c.map;
        }
        // The fold's inputs are the record's first fields.
        fold.add(last.partial, c.reader);
      }
      if (runs.isEmpty()) {
        return emitFromMemory();
      }
      spill();
      return merged();
    }

    /** Merges the partial state into the group's state. */
    private void settle(Group<S> g) {
      if (g.partial == null) {
        return;
      }
      if (g.state == null) {
        g.state = g.partial;
      } else {
        fold.merge(g.state, g.partial);
      }
      g.partial = null;
    }

    private Row row(UTF8String key, S state) {
      Object[] v = new Object[1 + fold.output().fields().length];
      v[0] = key.toString();
      fold.emit(state, v, 1);
      return RowFactory.create(v);
    }

    private Iterator<Row> emitFromMemory() {
      Iterator<Map.Entry<UTF8String, Group<S>>> it = groups.entrySet().iterator();
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return it.hasNext();
        }

        @Override
        public Row next() {
          Map.Entry<UTF8String, Group<S>> e = it.next();
          settle(e.getValue());
          it.remove();
          return row(e.getKey(), e.getValue().state);
        }
      };
    }

    /** Writes every group's state, sorted by group, to a file of its own, and forgets them. */
    private void spill() {
      List<Map.Entry<UTF8String, Group<S>>> sorted = new ArrayList<>(groups.entrySet());
      sorted.sort(Map.Entry.comparingByKey());
      try {
        java.nio.file.Path file = java.nio.file.Files.createTempFile(localDir(), "personas-fold-", ".bin");
        TaskContext task = TaskContext.get();
        if (task != null) {
          task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> deleteQuietly(file));
        }
        ByteSink bytes = new ByteSink(1 << 16);
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(
            java.nio.file.Files.newOutputStream(file), 1 << 16))) {
          for (Map.Entry<UTF8String, Group<S>> e : sorted) {
            settle(e.getValue());
            bytes.clear();
            bytes.putString(e.getKey());
            fold.write(e.getValue().state, bytes);
            out.writeInt(bytes.size());
            out.write(bytes.toByteArray());
          }
        }
        runs.add(file);
        LOG.info("Fold of {} groups written to {} ({} bytes)", sorted.size(), file, java.nio.file.Files.size(file));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("Cannot write fold states to local disk", e);
      }
      groups = new HashMap<>();
    }

    /** The rows of the spilled runs, a group's states merged in the order they were written. */
    private Iterator<Row> merged() {
      List<RunReader> readers = new ArrayList<>();
      for (java.nio.file.Path run : runs) {
        readers.add(new RunReader(run));
      }
      java.util.PriorityQueue<RunReader> heap = new java.util.PriorityQueue<>(
          java.util.Comparator.comparing((RunReader r) -> r.key).thenComparingInt(r -> r.index));
      for (int i = 0; i < readers.size(); i++) {
        readers.get(i).index = i;
        if (readers.get(i).advance()) {
          heap.add(readers.get(i));
        }
      }
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return !heap.isEmpty();
        }

        @Override
        public Row next() {
          RunReader first = heap.poll();
          UTF8String key = first.key;
          S state = fold.read(first.state);
          if (first.advance()) {
            heap.add(first);
          }
          while (!heap.isEmpty() && heap.peek().key.equals(key)) {
            RunReader r = heap.poll();
            fold.merge(state, fold.read(r.state));
            if (r.advance()) {
              heap.add(r);
            }
          }
          return row(key, state);
        }
      };
    }

    /** Spark's local folder of the application's files (on the executor's local disks), else the temp folder. */
    private static java.nio.file.Path localDir() {
      try {
        java.nio.file.Path dir = java.nio.file.Path.of(org.apache.spark.SparkFiles.getRootDirectory());
        if (java.nio.file.Files.isDirectory(dir)) {
          return dir;
        }
      } catch (RuntimeException e) {
        // No Spark environment (a unit test): the temp folder will do.
      }
      return java.nio.file.Path.of(System.getProperty("java.io.tmpdir"));
    }

    private static void deleteQuietly(java.nio.file.Path file) {
      try {
        java.nio.file.Files.deleteIfExists(file);
      } catch (java.io.IOException e) {
        LOG.warn("Cannot delete {}: {}", file, e.toString());
      }
    }

    /** Reads one spilled run, one group at a time. */
    private static final class RunReader {
      private final java.io.DataInputStream in;
      int index;
      UTF8String key;
      ByteSource state;

      RunReader(java.nio.file.Path file) {
        try {
          in = new java.io.DataInputStream(new java.io.BufferedInputStream(java.nio.file.Files.newInputStream(file),
              1 << 16));
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }

      /** Reads the next group; false (and closes) at the end. */
      boolean advance() {
        try {
          int length;
          try {
            length = in.readInt();
          } catch (java.io.EOFException end) {
            in.close();
            return false;
          }
          byte[] b = new byte[length];
          in.readFully(b);
          state = new ByteSource(b);
          key = state.getString();
          return true;
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
    }
  }

  /** Decodes the rows set aside. */
  private static final class SideRows implements
      org.apache.spark.api.java.function.FlatMapFunction<Iterator<Tuple2<Integer, byte[]>>, Row> {
    private final Layout layout;

    SideRows(Layout layout) {
      this.layout = layout;
    }

    @Override
    public Iterator<Row> call(Iterator<Tuple2<Integer, byte[]>> blocks) {
      Cursor c = new Cursor(blocks, SIDE, false, layout.side);
      int width = layout.side.fields();
      return new Iterator<>() {
        private Boolean ready;

        @Override
        public boolean hasNext() {
          if (ready == null) {
            ready = c.next();
          }
          return ready;
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          ready = null;
          Object[] v = new Object[width];
          for (int j = 0; j < width; j++) {
            v[j] = c.reader.value(j);
          }
          return RowFactory.create(v);
        }
      };
    }
  }
}
