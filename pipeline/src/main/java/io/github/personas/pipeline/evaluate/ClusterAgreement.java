package io.github.personas.pipeline.evaluate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Agreement between two labellings of the same users: the adjusted Rand index (Hubert and
 * Arabie, 1985) and the contingency table it is computed from.
 *
 * <p>ARI is 1 for identical partitions (whatever the label names), about 0 for a random one,
 * and can be negative. Only the contingency table comes to the driver: one row per pair of
 * labels that occurs, at most k × truth kinds.
 *
 * @param ari         adjusted Rand index
 * @param users       users counted (those with both labels)
 * @param contingency predicted label to (true label to users)
 */
public record ClusterAgreement(double ari, long users, Map<String, Map<String, Long>> contingency) {

  /**
   * Compares two label columns of {@code labelled}; rows where either is null are left out.
   *
   * @param labelled  one row per user
   * @param predicted column of the labels to judge (e.g. persona_id)
   * @param truth     column of the true labels (e.g. the generator's planted persona)
   */
  public static ClusterAgreement of(Dataset<Row> labelled, String predicted, String truth) {
    List<Row> cells = labelled.where(functions.col(predicted).isNotNull().and(functions.col(truth).isNotNull()))
        .groupBy(functions.col(predicted).cast("string"), functions.col(truth).cast("string"))
        .count().orderBy(functions.col(predicted), functions.col(truth)).collectAsList();
    Map<String, Map<String, Long>> table = new LinkedHashMap<>();
    for (Row r : cells) {
      table.computeIfAbsent(r.getString(0), k -> new LinkedHashMap<>()).put(r.getString(1), r.getLong(2));
    }
    List<String> truthLabels = table.values().stream().flatMap(m -> m.keySet().stream()).distinct().sorted().toList();
    long[][] counts = new long[table.size()][truthLabels.size()];
    int i = 0;
    long users = 0;
    for (Map<String, Long> row : table.values()) {
      for (Map.Entry<String, Long> e : row.entrySet()) {
        counts[i][truthLabels.indexOf(e.getKey())] = e.getValue();
        users += e.getValue();
      }
      i++;
    }
    return new ClusterAgreement(adjustedRandIndex(counts), users, table);
  }

  /**
   * The adjusted Rand index of a contingency table.
   *
   * @param counts counts[i][j] = items with predicted label i and true label j
   * @return ARI; 1.0 when both partitions are the same trivial partition
   */
  public static double adjustedRandIndex(long[][] counts) {
    double sumCells = 0;
    List<Long> rowSums = new ArrayList<>();
    long[] colSums = counts.length == 0 ? new long[0] : new long[counts[0].length];
    long n = 0;
    for (long[] row : counts) {
      long rs = 0;
      for (int j = 0; j < row.length; j++) {
        sumCells += pairs(row[j]);
        rs += row[j];
        colSums[j] += row[j];
      }
      rowSums.add(rs);
      n += rs;
    }
    double sumRows = rowSums.stream().mapToDouble(ClusterAgreement::pairs).sum();
    double sumCols = 0;
    for (long c : colSums) {
      sumCols += pairs(c);
    }
    double total = pairs(n);
    double expected = total == 0 ? 0 : sumRows * sumCols / total;
    double max = (sumRows + sumCols) / 2;
    if (max == expected) {
      // Both partitions put everything in one cluster (or one item per cluster): they agree.
      return 1.0;
    }
    return (sumCells - expected) / (max - expected);
  }

  private static double pairs(long x) {
    return x * (x - 1) / 2.0;
  }
}
