package io.github.personas.pipeline.segment;

import io.github.personas.pipeline.config.PersonasConfig;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Adds {@code lifecycle_stage}: the first matching rule of {@code personas.lifecycle.stages}.
 *
 * <p>The stages and their thresholds are data in conf/personas.conf; users no rule matches get
 * {@code personas.lifecycle.otherwise}, so every user has exactly one stage.
 */
public final class LifecycleStager {

  public static final String LIFECYCLE_STAGE = "lifecycle_stage";
  public static final String STAGES_KEY = "personas.lifecycle.stages";

  private final PersonasConfig.Lifecycle config;
  private final RuleTable table;

  public LifecycleStager(PersonasConfig.Lifecycle config) {
    this.config = config;
    this.table = new RuleTable(STAGES_KEY, config.stages());
  }

  /**
   * Checks every rule parses and names only columns of {@code featuresSchema}.
   *
   * @param featuresSchema any Dataset with the features table's columns (it may be empty)
   * @throws io.github.personas.pipeline.config.ConfigException naming the rule
   */
  public void checkRules(Dataset<Row> featuresSchema) {
    table.checkResolves(featuresSchema);
  }

  /** @param features the features table */
  public Dataset<Row> apply(Dataset<Row> features) {
    return features.withColumn(LIFECYCLE_STAGE,
        functions.coalesce(table.label(), functions.lit(config.otherwise())));
  }
}
