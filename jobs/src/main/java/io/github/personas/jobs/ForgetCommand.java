package io.github.personas.jobs;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.run.ForgetRun;
import java.io.File;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code personas forget}: erasure of listed users from every published partition, with a receipt. */
@Command(name = "forget", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Removes the listed users from every published partition of every table and date (features,",
        "segments, the quarantine's raw rows, and any table with a user_id column), one date at a time with",
        "the same atomic publish and lock as a run, and writes a receipt (tables, dates, rows removed, ids",
        "hashed) under <output>/runs/erasures/. Aggregates (persona sizes, KPIs, summaries) name no one and",
        "stay. Add the ids to personas.privacy.suppression_list too, so later runs leave them out."},
    footer = {"", "Examples:",
        "  personas forget --users requests/2026-12.txt --output /data/personas",
        "  personas forget --users erasures.csv --config conf/prod.conf     # salt and output from the config",
        "",
        "Exit code 2 when a date was left as it was because a run of it was in progress: run it again later."})
final class ForgetCommand implements Callable<Integer> {

  @ParentCommand
  PersonasCli parent;

  @Option(names = "--users", required = true, paramLabel = "FILE",
      description = "The ids to forget: one per line (text), a CSV with a user_id header, or Parquet with user_id.")
  String users;

  @Option(names = "--format", paramLabel = "FORMAT",
      description = "text, csv or parquet. Default: from the file name (.csv, .parquet), else text.")
  String format;

  @Option(names = "--config", paramLabel = "FILE",
      description = "HOCON configuration: the output path and personas.privacy.salt (ids hashed in the outputs"
          + " are matched in hashed form too).")
  File config;

  @Option(names = "--output", paramLabel = "DIR", description = "Root folder of the output tables; overrides"
      + " personas.output.path.")
  String output;

  @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: local[*] unless spark-submit"
      + " set one).")
  String master;

  @Override
  public Integer call() {
    PersonasConfig conf = ConfigLoader.load(config).withPaths(null, null, output);
    String f = format != null ? format.toLowerCase(Locale.ROOT)
        : users.endsWith(".csv") ? "csv" : users.endsWith(".parquet") ? "parquet" : "text";
    ForgetRun.Result r = new ForgetRun(SparkSessions.create("personas forget", master), conf).forget(users, f);
    var out = parent.out();
    out.printf("personas %s: forgot %,d listed ids under %s: %,d rows removed from %d of %d partitions%n",
        io.github.personas.pipeline.run.NightlyRun.version(), r.listedIds(), conf.outputPath(), r.rows(),
        r.removed().size(), r.scanned());
    r.removed().forEach(x -> out.printf("  %-19s dt=%s %,10d rows removed%n", x.table(), x.date(), x.rows()));
    out.printf("  receipt: %s%n", r.receipt());
    out.flush();
    if (!r.notDone().isEmpty()) {
      var err = parent.err();
      r.notDone().forEach((d, who) -> err.printf("personas: %s was left as it was: a run of it is in progress (%s)%n",
          d, who));
      err.println("personas: run forget again once those runs have ended; the receipt says status partial");
      err.flush();
      return PersonasCli.EXIT_USAGE;
    }
    return PersonasCli.EXIT_OK;
  }
}
