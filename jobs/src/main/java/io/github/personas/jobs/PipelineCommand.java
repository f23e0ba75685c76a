package io.github.personas.jobs;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.run.NightlyRun;
import io.github.personas.pipeline.run.RunSummary;
import io.github.personas.pipeline.run.Stage;
import io.github.personas.pipeline.validate.SourceCounts;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

/** Base of the commands that run pipeline stages for one date and print what they did. */
abstract class PipelineCommand implements Callable<Integer> {

  @Mixin
  CommonOptions common;

  @ParentCommand
  PersonasCli parent;

  /** The stages this command runs. */
  abstract EnumSet<Stage> stages();

  @Override
  public Integer call() {
    PersonasConfig config = common.load();
    String name = getClass().getSimpleName().replace("Command", "").toLowerCase(java.util.Locale.ROOT);
    SparkSession spark = SparkSessions.create("personas " + name + " " + common.date, common.master);
    RunSummary s = new NightlyRun(spark, config, common.date).execute(stages());
    print(s);
    return PersonasCli.EXIT_OK;
  }

  /** "read = accepted + quarantined + ..." for one source; suppressed only when there were any. */
  private static String reconciliation(String label, SourceCounts c) {
    String suppressed = c.suppressed() == 0 ? "" : String.format(" + suppressed %,d", c.suppressed());
    return String.format("  %-9s read %,d = accepted %,d + quarantined %,d + duplicates %,d + filtered %,d%s",
        label + ":", c.read(), c.accepted(), c.quarantined(), c.duplicates(), c.filtered(), suppressed);
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
    out.flush();
  }
}
