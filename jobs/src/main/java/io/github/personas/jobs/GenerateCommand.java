package io.github.personas.jobs;

import io.github.personas.pipeline.generate.SyntheticData;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Writes synthetic events, profiles and planted-persona truth in the input contract. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Writes synthetic data in the input contract: <out>/events, <out>/profiles (Parquet) and <out>/truth,",
        "each user's planted kind (never_launched, new_user, active_non_payer, converted_low_spender,",
        "loyal_big_spender, late_night_food, dormant, uninstalled). The same --seed gives the same data.",
        "Like a real SDK stream, some events are delivered twice (the same event_id, later in the file) and",
        "some are stamped after --end-date; a run de-duplicates the first and quarantines the second."},
    footer = {"", "Examples:",
        "  personas generate --users 2000 --days 90 --end-date 2026-11-22 --out sample-data",
        "  personas generate --users 100000 --out /tmp/synthetic && personas run --events /tmp/synthetic/events \\",
        "      --profiles /tmp/synthetic/profiles --date <end-date> --output /tmp/out"})
final class GenerateCommand implements Callable<Integer> {

  @ParentCommand
  PersonasCli parent;

  @Option(names = "--users", defaultValue = "2000", description = "Number of users (default: ${DEFAULT-VALUE}).")
  long users;

  @Option(names = "--days", defaultValue = "90", description = "Days of history ending at --end-date (default: ${DEFAULT-VALUE}).")
  int days;

  @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--end-date", paramLabel = "YYYY-MM-DD", converter = Converters.DateConverter.class,
      description = "Last day of the history, the natural --date of a run (default: yesterday, UTC).")
  LocalDate endDate;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to write into; replaced if it exists.")
  String out;

  @Option(names = "--files", defaultValue = "0",
      description = "Parquet files per table; 0 picks one per ~50k users (default: ${DEFAULT-VALUE}).")
  int files;

  @Option(names = "--duplicate-share", defaultValue = "0.005", paramLabel = "SHARE",
      description = "Share of events delivered twice, 0..0.5 (default: ${DEFAULT-VALUE}).")
  double duplicateShare;

  @Option(names = "--late-share", defaultValue = "0.01", paramLabel = "SHARE",
      description = "Share of events stamped after --end-date, 0..0.5 (default: ${DEFAULT-VALUE}).")
  double lateShare;

  @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: local[*] unless spark-submit set one).")
  String master;

  @Override
  public Integer call() {
    if (users < 1 || days < 7 || files < 0) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          String.format("--users must be >= 1 (got %d), --days >= 7 (got %d), --files >= 0 (got %d)", users, days, files));
    }
    if (!(duplicateShare >= 0 && duplicateShare <= 0.5) || !(lateShare >= 0 && lateShare <= 0.5)) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), String.format(
          "--duplicate-share and --late-share must be within 0..0.5 (got %s and %s)", duplicateShare, lateShare));
    }
    LocalDate end = endDate != null ? endDate : LocalDate.now(ZoneOffset.UTC).minusDays(1);
    int n = files > 0 ? files : (int) Math.max(1, users / 50_000);
    SparkSession spark = SparkSessions.create("personas generate", master);
    long t0 = System.nanoTime();
    new SyntheticData(users, days, seed, end, duplicateShare, lateShare).write(spark, out, n);
    long events = spark.read().parquet(out + "/events").count();
    double s = (System.nanoTime() - t0) / 1e9;
    parent.out().printf("Generated %,d users and %,d events (%d days to %s, seed %d) in %.1f s under %s%n",
        users, events, days, end, seed, s, out);
    parent.out().flush();
    return PersonasCli.EXIT_OK;
  }
}
