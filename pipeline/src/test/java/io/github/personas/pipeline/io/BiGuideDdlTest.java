package io.github.personas.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.OutputSchemas;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Spark and Trino DDL in docs/bi.md is the one docs/output-schemas.tsv gives, for every pinned table. */
class BiGuideDdlTest {

  @Test
  void theGuidesDdlIsGeneratedFromThePinnedSchemas() throws Exception {
    Map<String, List<OutputSchemas.Column>> tables = OutputSchemas.read();
    String guide = Files.readString(OutputSchemas.BI_GUIDE);
    String generated = OutputSchemas.withDdl(guide, tables);
    if (Boolean.getBoolean("personas.updateSchemas")) {
      OutputSchemas.write(generated);
      guide = generated;
    }
    assertEquals(generated, guide, "docs/bi.md's DDL differs from docs/output-schemas.tsv: rerun this test with"
        + " -Dpersonas.updateSchemas=true and review the diff");
    for (String dialect : List.of("Spark", "Trino")) {
      List<String> created = OutputSchemas.statements(guide, dialect).stream()
          .filter(s -> s.startsWith("CREATE TABLE")).map(s -> s.split("[ (]")[5].replaceFirst(".*\\.", "")).toList();
      assertEquals(List.copyOf(tables.keySet()), created, dialect + ": a CREATE TABLE per pinned table");
    }
  }

  @Test
  void typesTranslateAsSparkWritesThemAndTrinoReadsThem() {
    assertEquals("STRING", OutputSchemas.sparkType("VARCHAR"));
    assertEquals("ARRAY<INT>", OutputSchemas.sparkType("INTEGER[]"));
    assertEquals("MAP<STRING, BIGINT>", OutputSchemas.sparkType("MAP(VARCHAR, BIGINT)"));
    assertEquals("ARRAY<STRUCT<feature: STRING, value: DOUBLE>>",
        OutputSchemas.sparkType("STRUCT(feature VARCHAR, \"value\" DOUBLE)[]"));
    assertEquals("array(row(feature varchar, \"value\" double))",
        OutputSchemas.trinoType("STRUCT(feature VARCHAR, \"value\" DOUBLE)[]"));
    assertEquals("map(varchar, double)", OutputSchemas.trinoType("MAP(VARCHAR, DOUBLE)"));
    assertEquals("timestamp(3)", OutputSchemas.trinoType("TIMESTAMP"));
  }

  @Test
  void everyPinnedTableIsAnOutputTableInTheCodesOrder() {
    List<String> pinned = List.copyOf(OutputSchemas.read().keySet());
    assertEquals(OutputWriter.TABLES.stream().filter(pinned::contains).toList(), pinned);
    assertTrue(pinned.containsAll(List.of("quarantine", "features", "segments", "personas", "k_selection",
        "segment_kpis", "holdout_uplift", "segment_transitions", "segment_history", "predictions")), pinned.toString());
  }
}
