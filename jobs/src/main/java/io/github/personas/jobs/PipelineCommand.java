package io.github.personas.jobs;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.run.NightlyRun;
import io.github.personas.pipeline.run.RunSummary;
import io.github.personas.pipeline.run.Stage;
import io.github.personas.pipeline.validate.SourceCounts;
import java.io.PrintWriter;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * Base of the commands that run pipeline stages for one date, or for a range of dates in order
 * (a backfill), and print what they did.
 */
abstract class PipelineCommand implements Callable<Integer> {

  @ArgGroup(exclusive = true, multiplicity = "1")
  Dates dates;

  @Mixin
  CommonOptions common;

  @ParentCommand
  PersonasCli parent;

  @Spec
  CommandSpec spec;

  /** {@code --date D}, or {@code --from D1 --to D2}. */
  static final class Dates {
    @Option(names = "--date", required = true, paramLabel = "YYYY-MM-DD", converter = Converters.DateConverter.class,
        description = "Logical run date D: events up to the end of D (UTC) are used, nothing later.")
    LocalDate date;

    @ArgGroup(exclusive = false, multiplicity = "1")
    Range range;
  }

  /** The first and last date of a backfill. */
  static final class Range {
    @Option(names = "--from", required = true, paramLabel = "YYYY-MM-DD", converter = Converters.DateConverter.class,
        description = "First date of a backfill: the dates --from to --to run in order, oldest first, in one"
            + " Spark session, and stop at the first that fails (each date builds on the outputs of the one before).")
    LocalDate from;

    @Option(names = "--to", required = true, paramLabel = "YYYY-MM-DD", converter = Converters.DateConverter.class,
        description = "Last date of a backfill, inclusive.")
    LocalDate to;
  }

  /** The stages this command runs. */
  abstract EnumSet<Stage> stages();

  @Override
  public Integer call() {
    List<LocalDate> days = days();
    PersonasConfig config = common.load();
    String name = getClass().getSimpleName().replace("Command", "").toLowerCase(java.util.Locale.ROOT);
    boolean backfill = dates.range != null;
    String label = backfill ? dates.range.from + ".." + dates.range.to : days.get(0).toString();
    SparkSession spark = SparkSessions.create("personas " + name + " " + label, common.master);
    if (!backfill) {
      print(new NightlyRun(spark, config, days.get(0)).execute(stages()));
      return PersonasCli.EXIT_OK;
    }
    PrintWriter out = parent.out();
    long started = System.nanoTime();
    List<String> done = new ArrayList<>();
    for (int i = 0; i < days.size(); i++) {
      LocalDate day = days.get(i);
      out.printf("personas %s: %s, date %d of %d of the backfill %s%n", name, day, i + 1, days.size(), label);
      out.flush();
      long t0 = System.nanoTime();
      RunSummary s;
      try {
        s = new NightlyRun(spark, config, day).execute(stages());
      } catch (RuntimeException | Error e) {
        // Later dates are not run: each reads the outputs of the date before it (persona ids,
        // transitions, history), so running them over a gap would publish them built on the wrong date.
        out.printf("personas %s: backfill %s stopped at %s; later dates were not run%n", name, label, day);
        done.forEach(out::println);
        out.println(status(day, "failed", t0) + "  " + ConfigException.firstLine(e));
        days.subList(i + 1, days.size()).forEach(d -> out.printf("  %s  not run%n", d));
        out.printf("  Each date builds on the outputs of the one before. Once fixed, resume with --from %s --to %s%n",
            day, dates.range.to);
        out.flush();
        throw e;
      }
      print(s);
      done.add(status(day, s.status(), t0));
    }
    out.printf("personas %s: backfill %s succeeded, %d dates in %.1f s%n", name, label, days.size(),
        (System.nanoTime() - started) / 1e9);
    done.forEach(out::println);
    out.flush();
    return PersonasCli.EXIT_OK;
  }

  /** The dates to run, oldest first; a range whose end comes before its start is a usage error. */
  private List<LocalDate> days() {
    if (dates.range == null) {
      return List.of(dates.date);
    }
    LocalDate from = dates.range.from;
    LocalDate to = dates.range.to;
    if (to.isBefore(from)) {
      throw new ParameterException(spec.commandLine(), String.format(
          "--from %s is after --to %s: a backfill runs from the earlier date to the later one", from, to));
    }
    return from.datesUntil(to.plusDays(1)).toList();
  }

  /** One status line of a backfill: date, outcome, seconds. */
  private static String status(LocalDate day, String outcome, long t0) {
    return String.format("  %s  %-20s %8.1f s", day, outcome, (System.nanoTime() - t0) / 1e9);
  }

  /** "read = accepted + quarantined + ..." for one source; suppressed and later days only when there were any. */
  private static String reconciliation(String label, SourceCounts c) {
    String suppressed = c.suppressed() == 0 ? "" : String.format(" + suppressed %,d", c.suppressed());
    String later = c.laterDays() == 0 ? "" : String.format(" + later days %,d", c.laterDays());
    return String.format("  %-9s read %,d = accepted %,d + quarantined %,d + duplicates %,d + filtered %,d%s%s",
        label + ":", c.read(), c.accepted(), c.quarantined(), c.duplicates(), c.filtered(), suppressed, later);
  }

  private void print(RunSummary s) {
    var out = parent.out();
    out.printf("personas %s: %s for %s%n", s.version(), s.status(), s.runDate());
    if (s.events() != null) {
      out.println(reconciliation("events", s.events()));
    }
    if (s.profiles() != null && s.profiles().read() > 0) {
      out.println(reconciliation("profiles", s.profiles()));
    }
    for (Map.Entry<String, Long> e : s.tableRows().entrySet()) {
      out.printf("  %-19s %,10d rows  %s%n", e.getKey(), e.getValue(), s.outputs().get(e.getKey()));
    }
    s.timingsSeconds().forEach((k, v) -> out.printf("  %-19s %8.1f s%n", k, v));
    s.warnings().forEach(w -> out.printf("  warning: %s%n", w));
    // Last, where a person looks once the run is done: the page to open.
    String report = s.outputs().get("report.html");
    if (report != null) {
      out.printf("Report: %s (report.md beside it)%n", report);
    }
    out.flush();
  }
}
