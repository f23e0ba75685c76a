package io.github.personas.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.jobs.CliTesting.Result;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** check-predictions through the CLI: a date's scores against what its users did by a later date. */
class CheckPredictionsTest {

  @TempDir
  Path dir;

  @Test
  void measuresEachScoreAgainstTheLaterFeaturesAndExitsThreeBelowTheAskedAuc() throws Exception {
    SparkTestSession.get();
    String gen = dir.resolve("gen").toString();
    assertEquals(0, CliTesting.call("generate", "--users", "300", "--days", "30", "--end-date", "2024-03-10",
        "--seed", "13", "--out", gen).code());
    // One folder of every day: each date skips the days after it.
    Path conf = dir.resolve("p.conf");
    Files.writeString(conf, "personas.input.events.holds_later_days = true\n");
    String out = dir.resolve("out").toString();
    String[] common = {"--config", conf.toString(), "--events", gen + "/events", "--profiles", gen + "/profiles",
        "--output", out};
    assertEquals(0, CliTesting.call(concat(new String[] {"features", "--date", "2024-02-25"}, common)).code());
    Result predicted = CliTesting.call(concat(new String[] {"predict", "--date", "2024-02-25"}, common));
    assertEquals(0, predicted.code(), predicted.err());

    Result missing = CliTesting.call(concat(new String[] {"check-predictions", "--date", "2024-02-25",
        "--outcomes-date", "2024-03-10"}, common));
    assertEquals(2, missing.code(), "no features of the outcome date yet");
    assertTrue(missing.err().contains("No features for 2024-03-10"), missing.err());

    assertEquals(0, CliTesting.call(concat(new String[] {"features", "--date", "2024-03-10"}, common)).code());
    Result r = CliTesting.call(concat(new String[] {"check-predictions", "--date", "2024-02-25",
        "--outcomes-date", "2024-03-10", "--min-auc", "expected_purchases_30d=0.5"}, common));
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("expected_purchases_30d") && r.out().contains("AUC-ROC"), r.out());
    String json = Files.readString(Path.of(out, "runs", "dt=2024-02-25", "prediction_check.json"));
    assertTrue(json.contains("\"expected_purchases_30d\"") && json.contains("\"auc_roc\""), json);

    Result below = CliTesting.call(concat(new String[] {"check-predictions", "--date", "2024-02-25",
        "--outcomes-date", "2024-03-10", "--min-auc", "expected_purchases_30d=1.01"}, common));
    assertEquals(3, below.code(), below.err());
    Result unknown = CliTesting.call(concat(new String[] {"check-predictions", "--date", "2024-02-25",
        "--outcomes-date", "2024-03-10", "--min-auc", "no_such_score=0.5"}, common));
    assertEquals(2, unknown.code());
    assertTrue(unknown.err().contains("no_such_score"), unknown.err());
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
