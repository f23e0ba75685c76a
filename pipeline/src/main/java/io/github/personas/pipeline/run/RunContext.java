package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.io.OutputWriter;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.spark.sql.SparkSession;

/**
 * What every stage of one run shares, set when the run starts: the session, the configuration,
 * the date, the output, the gates, where the run runs and what the start found worth a warning.
 *
 * @param spark    the session (local or cluster; its configuration is left as given)
 * @param config   validated configuration
 * @param date     the run date D: events up to the end of D, UTC
 * @param out      the output tables, staged until the run publishes them
 * @param gates    the data-quality gates
 * @param sparkFacts where the run runs
 * @param warnings what the start found worth a warning
 */
public record RunContext(SparkSession spark, PersonasConfig config, LocalDate date, OutputWriter out,
                         QualityGates gates, RunSummary.SparkFacts sparkFacts, List<String> warnings) {

  private static final String SESSION_TZ = "spark.sql.session.timeZone";

  public RunContext {
    Objects.requireNonNull(spark, "spark");
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(date, "date");
    warnings = List.copyOf(warnings);
  }

  /** This context with one more warning for the summary. */
  public RunContext withWarning(String warning) {
    List<String> more = new ArrayList<>(warnings);
    more.add(warning);
    return new RunContext(spark, config, date, out, gates, sparkFacts, more);
  }

  /**
   * The context of a run of {@code config} for {@code date}: its input paths resolved for the
   * date ({@code ${date}}), so every stage and the summary see the paths read; pins the session
   * time zone to UTC unless set.
   */
  public static RunContext open(SparkSession spark, PersonasConfig template, LocalDate date) {
    PersonasConfig config = template.forDate(date);
    List<String> warnings = new ArrayList<>();
    // Day boundaries and dates are UTC by the input contract. Spark reads text timestamps without
    // an offset in the session time zone, so unless the user set one (--conf wins), use UTC.
    if (!spark.sparkContext().getConf().contains(SESSION_TZ)) {
      spark.conf().set(SESSION_TZ, "UTC");
    } else if (!List.of("UTC", "Etc/UTC", "Z", "+00:00").contains(spark.conf().get(SESSION_TZ))) {
      warnings.add("spark.sql.session.timeZone is " + spark.conf().get(SESSION_TZ)
          + ": event_time text without an offset is read in that zone, not UTC");
    }
    OutputWriter out = new OutputWriter(spark, config.outputPath(), date, config.filesPerPartition(),
        config.rowsPerFile());
    return new RunContext(spark, config, date, out, new QualityGates(config.quality()),
        RunSummary.SparkFacts.of(spark), warnings);
  }
}
