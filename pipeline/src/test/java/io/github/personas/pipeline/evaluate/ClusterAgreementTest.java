package io.github.personas.pipeline.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class ClusterAgreementTest {

  @Test
  void matchesScikitLearnDocumentedValues() {
    // sklearn.metrics.adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) == 0.5714285714285715
    // as a contingency table: predicted {0,0,1,2} x true {0,0,1,1}
    assertEquals(0.5714285714285715, ClusterAgreement.adjustedRandIndex(new long[][] {{2, 0}, {0, 1}, {0, 1}}), 1e-12);
    // adjusted_rand_score([0, 0, 0, 0], [0, 1, 2, 3]) == 0.0
    assertEquals(0.0, ClusterAgreement.adjustedRandIndex(new long[][] {{1}, {1}, {1}, {1}}), 1e-12);
    // adjusted_rand_score([0, 0, 1, 2], [0, 0, 1, 1]) == 0.57 (symmetric)
    assertEquals(0.5714285714285715, ClusterAgreement.adjustedRandIndex(new long[][] {{2, 0, 0}, {0, 1, 1}}), 1e-12);
  }

  @Test
  void isOneForTheSamePartitionUnderOtherNames() {
    assertEquals(1.0, ClusterAgreement.adjustedRandIndex(new long[][] {{0, 3}, {5, 0}}), 1e-12);
  }

  @Test
  void countsOnlyUsersWithBothLabelsFromADataFrame() {
    List<Row> rows = new ArrayList<>();
    String[][] labels = {{"P01", "a"}, {"P01", "a"}, {"P02", "b"}, {"P02", "b"}, {"P02", null}, {null, "a"}};
    for (int i = 0; i < labels.length; i++) {
      rows.add(RowFactory.create("u" + i, labels[i][0], labels[i][1]));
    }
    ClusterAgreement a = ClusterAgreement.of(SparkTestSession.get().createDataFrame(rows,
        StructType.fromDDL("user_id string, persona_id string, persona string")), "persona_id", "persona");
    assertEquals(4, a.users());
    assertEquals(1.0, a.ari(), 1e-12);
    assertEquals(2L, a.contingency().get("P02").get("b"));
  }
}
