package io.github.personas.pipeline.features;

import io.github.personas.pipeline.engine.Caches;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.personas.pipeline.io.Contract;
import io.github.personas.pipeline.testing.ContractRows;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.junit.jupiter.api.Test;

/** docs/features.md and the features table the code writes list the same columns and types. */
class FeaturesDocTest {

  private final Caches caches = new Caches();

  @org.junit.jupiter.api.AfterEach
  void releaseCaches() {
    caches.close();
  }

  private static final Pattern ROW = Pattern.compile("^\\| `([a-z0-9_]+)` \\| ([a-z<>,]+) \\|");

  @Test
  void documentedColumnsAreExactlyTheWrittenSchemaInOrder() throws IOException {
    List<String> documented = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of("../docs/features.md"))) {
      Matcher m = ROW.matcher(line);
      if (m.find()) {
        documented.add(m.group(1) + " " + m.group(2));
      }
    }
    SparkSession spark = SparkTestSession.get();
    List<String> written = new ArrayList<>();
    for (StructField f : new FeatureBuilder(LocalDate.parse("2024-03-10"), "UTC")
        .apply(ContractRows.frame(spark, Contract.EVENTS, List.of()), ContractRows.frame(spark, Contract.PROFILES, List.of()), caches)
        .schema().fields()) {
      written.add(f.name() + " " + f.dataType().simpleString());
    }
    assertEquals(String.join("\n", written), String.join("\n", documented),
        "docs/features.md must list every features column with its Spark type, in table order");
  }
}
