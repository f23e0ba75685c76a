package io.github.personas.jobs;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.io.RunLockedException;
import io.github.personas.pipeline.run.DataQualityException;
import io.github.personas.pipeline.run.NightlyRun;
import io.github.personas.pipeline.run.Stage;
import java.io.PrintWriter;
import java.util.EnumSet;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.config.Configurator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code personas} command line: nightly segmentation stages and the sample-data generator.
 *
 * <p>{@link #main} exits with {@link #run}'s code, which tests call directly.
 */
@Command(name = "personas",
    mixinStandardHelpOptions = true,
    versionProvider = PersonasCli.Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
        "Turns app and e-commerce events into RFM segments, lifecycle stages and named personas, on Apache Spark.",
        "",
        "Each command works on one logical date (--date), or on the dates --from to --to",
        "in order (a backfill), and writes Parquet tables under <output>/<table>/dt=<date>/",
        "plus <output>/runs/dt=<date>/summary.json."},
    subcommands = {
        PersonasCli.RunCommand.class,
        PersonasCli.ValidateCommand.class,
        PersonasCli.FeaturesCommand.class,
        PersonasCli.SegmentCommand.class,
        PersonasCli.PredictCommand.class,
        PersonasCli.ReportCommand.class,
        ForgetCommand.class,
        GenerateCommand.class,
        EvaluateCommand.class,
        CheckPredictionsCommand.class,
        CommandLine.HelpCommand.class},
    footerHeading = "%nExit codes:%n",
    footer = {
        "  0  ok",
        "  1  failure (a bug or an environment problem; see the log)",
        "  2  usage or configuration error: bad option, config key, rule, input path or missing column;",
        "     or another run of the same date into the same output is still running (the message names it)",
        "  3  a data-quality gate failed (personas.quality.*); nothing past the failing stage was written",
        "",
        "Examples:",
        "  personas run --date 2026-11-22                       # built-in sample data, local Spark",
        "  personas run --config conf/examples/online-retail.conf --date 2011-12-09 --output /tmp/uci",
        "  personas run --from 2026-11-01 --to 2026-11-22       # a backfill, oldest date first",
        "  personas forget --users erasure-requests.txt --output /tmp/out   # erase users from every date",
        "  personas generate --users 100000 --days 90 --out /tmp/synthetic",
        "  personas check-predictions --date 2026-10-23 --outcomes-date 2026-11-22   # how last month's scores did",
        "  personas evaluate --truth /tmp/synthetic/truth --date 2026-11-22 --output /tmp/out",
        "  personas help run"})
public final class PersonasCli {

  public static final int EXIT_OK = 0;
  public static final int EXIT_FAILURE = 1;
  public static final int EXIT_USAGE = 2;
  public static final int EXIT_DATA_QUALITY = 3;

  private static final Logger LOG = LogManager.getLogger(PersonasCli.class);

  @Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT,
      description = "More log output: stage details from personas, INFO from Spark.")
  void verbose(boolean on) {
    if (on) {
      Configurator.setLevel("io.github.personas", Level.DEBUG);
      Configurator.setLevel("org.apache.spark", Level.INFO);
    }
  }

  @Option(names = {"-q", "--quiet"}, scope = CommandLine.ScopeType.INHERIT,
      description = "Only warnings and errors in the log.")
  void quiet(boolean on) {
    if (on) {
      Configurator.setLevel("io.github.personas", Level.WARN);
    }
  }

  private PrintWriter out;
  private PrintWriter err;

  PrintWriter out() {
    return out;
  }

  PrintWriter err() {
    return err;
  }

  public static void main(String[] args) {
    System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
  }

  /**
   * Runs the CLI and returns its exit code instead of exiting.
   *
   * @param out where results go
   * @param err where errors and usage help go
   */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    PersonasCli cli = new PersonasCli();
    cli.out = out;
    cli.err = err;
    CommandLine cmd = new CommandLine(cli);
    cmd.setOut(out);
    cmd.setErr(err);
    cmd.setExecutionExceptionHandler((ex, line, parseResult) -> {
      if (ex instanceof ConfigException || ex instanceof RunLockedException) {
        err.println("personas: " + ex.getMessage());
        err.flush();
        return EXIT_USAGE;
      }
      if (ex instanceof DataQualityException) {
        err.println("personas: " + ex.getMessage());
        err.flush();
        return EXIT_DATA_QUALITY;
      }
      LOG.error("personas failed", ex);
      String msg = ex.getMessage() == null ? ex.toString() : ex.getMessage().lines().findFirst().orElse("");
      err.println("personas: failed: " + ex.getClass().getSimpleName() + ": " + msg);
      err.flush();
      return EXIT_FAILURE;
    });
    int code = cmd.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /** Version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"personas " + NightlyRun.version(), "Spark " + org.apache.spark.package$.MODULE$.SPARK_VERSION()};
    }
  }

  @Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Runs every stage for one date: validate, features, predict, segment, report.",
          "Writes quarantine, features, segments, personas, predictions, segment_kpis and runs/summary.json.",
          "With --from and --to: each date of the range in order, in one Spark session",
          "(a backfill), stopping at the first date that fails, with its exit code; the",
          "dates after it are not run, as each builds on the outputs of the one before."},
      footer = {"", "Examples:",
          "  personas run --date 2026-11-22",
          "  personas run --config conf/examples/cdnow.conf --date 1998-06-30 --output /tmp/cdnow",
          "  personas run --from 2026-11-01 --to 2026-11-22     # 22 dates, oldest first",
          "  personas run --events '/data/events/dt=$${date}' --from 2026-11-01 \\",
          "      --to 2026-11-22        # a folder per day: each date reads its own",
          "  spark-submit --class io.github.personas.jobs.PersonasCli personas-jobs-spark.jar run --date {{ ds }}",
          "",
          "One folder holding every day (no dt= folders, no $${date}): set",
          "personas.input.events.holds_later_days = true, so each date skips the rows of",
          "the days after it (counted as later days) instead of quarantining them."})
  static final class RunCommand extends PipelineCommand {
    @Override
    EnumSet<Stage> stages() {
      return EnumSet.allOf(Stage.class);
    }
  }

  @Command(name = "validate", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Reads the inputs, checks them against the input contract and writes the quarantine table.",
          "Prints where every row went: read = accepted + quarantined + duplicates + filtered."},
      footer = {"", "Example:", "  personas validate --events export/events.csv.gz --profiles '' --date 2026-11-22"})
  static final class ValidateCommand extends PipelineCommand {
    @Override
    EnumSet<Stage> stages() {
      return EnumSet.of(Stage.VALIDATE);
    }
  }

  @Command(name = "features", mixinStandardHelpOptions = true, sortOptions = false,
      description = "Validates the inputs and writes the per-user features table (see docs/features.md).",
      footer = {"", "Example:", "  personas features --date 2026-11-22 --output /tmp/out"})
  static final class FeaturesCommand extends PipelineCommand {
    @Override
    EnumSet<Stage> stages() {
      return EnumSet.of(Stage.VALIDATE, Stage.FEATURES);
    }
  }

  @Command(name = "segment", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Reads the date's features table (and its predictions, where published) from --output and",
          "writes segments (RFM scores and segment, lifecycle stage, persona per user) and personas (size and",
          "centroid per persona). Lifecycle rules may read the prediction columns (docs/predict.md)."},
      footer = {"", "Example:", "  personas features --date 2026-11-22 && personas predict --date 2026-11-22 \\",
          "    && personas segment --date 2026-11-22"})
  static final class SegmentCommand extends PipelineCommand {
    @Override
    EnumSet<Stage> stages() {
      return EnumSet.of(Stage.SEGMENT);
    }
  }

  @Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Reads the date's features from --output, fits the purchase and spend models (BG/NBD,",
          "Gamma-Gamma; docs/predict.md) and writes predictions: P(alive), expected purchases, order value",
          "and CLV per user, the fitted parameters in runs/summary.json under details.predict.",
          "Purchase propensity and churn risk are trained on the features of D - H (personas.predict.",
          "propensity.horizon_days): `run` folds them in its own pass; this command reads them from a",
          "published features partition of that date, and leaves the columns null (with a warning) without one.",
          "The segments read the predictions: this command withdraws the date's segments and report, which",
          "`personas segment` and `personas report` then rebuild."},
      footer = {"", "Example:", "  personas features --date 2026-11-22 && personas predict --date 2026-11-22"})
  static final class PredictCommand extends PipelineCommand {
    @Override
    EnumSet<Stage> stages() {
      return EnumSet.of(Stage.PREDICT);
    }
  }

  @Command(name = "report", mixinStandardHelpOptions = true, sortOptions = false,
      description = "Reads the date's features, segments and (where published) predictions from --output and"
          + " writes segment_kpis and the report.",
      footer = {"", "Example:", "  personas report --date 2026-11-22 --output /tmp/out"})
  static final class ReportCommand extends PipelineCommand {
    @Override
    EnumSet<Stage> stages() {
      return EnumSet.of(Stage.REPORT);
    }
  }
}
