package io.github.personas.pipeline.engine;

import static io.github.personas.pipeline.engine.KeyedPass.LOG;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.unsafe.types.UTF8String;

/** One reduce task's fold of its records by group. */
final class SpillingFold<S> {
  private final PassLayout layout;
  private final Fold<S> fold;
  private final int maxGroups;
  private Map<UTF8String, Group<S>> groups = new HashMap<>();
  private final List<java.nio.file.Path> runs = new ArrayList<>();

  @SuppressWarnings("unchecked")
  SpillingFold(PassLayout layout, Fold<?> fold, int maxGroups) {
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

  Iterator<Row> fold(RecordCursor c, KeyTable table) {
    int groupField = layout.group;
    // The reader hands out the same string object while a field repeats: most rows skip the lookup.
    UTF8String lastString = null;
    Group<S> last = null;
    while (c.next()) {
      if (!PassReduce.kept(layout, table, c)) {
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

