package io.github.personas.pipeline.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;

class RecordCodecTest {

  private static final List<RecordCodec.Kind> KINDS = List.of(RecordCodec.Kind.LONG, RecordCodec.Kind.INT,
      RecordCodec.Kind.DOUBLE, RecordCodec.Kind.BOOLEAN, RecordCodec.Kind.STRING, RecordCodec.Kind.STRING_ARRAY);

  private static InternalRow row(Long l, Integer i, Double d, Boolean b, String s, String... array) {
    return new GenericInternalRow(new Object[] {l, i, d, b, s == null ? null : UTF8String.fromString(s),
        array == null ? null : new GenericArrayData(Arrays.stream(array)
            .map(x -> x == null ? null : UTF8String.fromString(x)).toArray())});
  }

  @Test
  void recordsReadBackAsWrittenIncludingNullsAndRepeatsAfterNulls() {
    RecordCodec codec = new RecordCodec(KINDS);
    List<InternalRow> rows = List.of(
        row(1L, -3, 2.5, true, "ios", "a", null, ""),
        row(1L, -3, 2.5, true, "ios", "a"),                       // every field repeats
        row(null, null, null, null, null, (String[]) null),       // every field null
        row(1L, 0, -0.0, false, "ios"),                           // repeats of the values before the nulls
        row(Long.MIN_VALUE, Integer.MAX_VALUE, Double.NaN, true, "héllo ✓", "x"),
        row(Long.MAX_VALUE, Integer.MIN_VALUE, Double.NEGATIVE_INFINITY, false, ""));
    int[] ordinals = {0, 1, 2, 3, 4, 5};
    ByteSink out = new ByteSink(16);
    RecordCodec.Writer w = codec.writer();
    for (InternalRow r : rows) {
      w.write(r, ordinals, out);
    }
    RecordCodec.Reader reader = codec.reader();
    ByteSource in = new ByteSource(out.toByteArray());
    List<List<Object>> read = new ArrayList<>();
    while (in.hasMore()) {
      reader.read(in);
      List<Object> v = new ArrayList<>();
      for (int i = 0; i < KINDS.size(); i++) {
        Object x = reader.value(i);
        v.add(x instanceof scala.collection.Seq<?> s ? scala.jdk.javaapi.CollectionConverters.asJava(s) : x);
      }
      read.add(v);
    }
    assertEquals(6, read.size());
    assertEquals(Arrays.asList(1L, -3, 2.5, true, "ios", Arrays.asList("a", null, "")), read.get(0));
    assertEquals(Arrays.asList(1L, -3, 2.5, true, "ios", List.of("a")), read.get(1));
    assertEquals(Arrays.asList(null, null, null, null, null, null), read.get(2));
    assertEquals(Arrays.asList(1L, 0, -0.0, false, "ios", List.of()), read.get(3));
    assertEquals(Long.MIN_VALUE, read.get(4).get(0));
    assertTrue(Double.isNaN((Double) read.get(4).get(2)));
    assertEquals("héllo ✓", read.get(4).get(4));
    assertEquals(Arrays.asList(Long.MAX_VALUE, Integer.MIN_VALUE, Double.NEGATIVE_INFINITY, false, "", List.of()),
        read.get(5));
  }

  @Test
  void aRepeatedStringCostsNoBytes() {
    RecordCodec codec = new RecordCodec(List.of(RecordCodec.Kind.STRING, RecordCodec.Kind.LONG));
    ByteSink out = new ByteSink(16);
    RecordCodec.Writer w = codec.writer();
    InternalRow r = new GenericInternalRow(new Object[] {UTF8String.fromString("a device model name"), 7L});
    w.write(r, new int[] {0, 1}, out);
    int first = out.size();
    w.write(r, new int[] {0, 1}, out);
    assertEquals(1, out.size() - first, "a repeat is its bitmap byte alone");
  }
}
