package io.github.personas.jobs;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.PersonasConfig;
import java.io.File;
import java.time.LocalDate;
import picocli.CommandLine.Option;

/** Options every pipeline command shares: configuration, date, inputs, output, master. */
public final class CommonOptions {

  @Option(names = "--config", paramLabel = "FILE",
      description = "HOCON configuration file, loaded on top of the defaults in conf/personas.conf.")
  File config;

  @Option(names = "--date", required = true, paramLabel = "YYYY-MM-DD", converter = Converters.DateConverter.class,
      description = "Logical run date D: events up to the end of D (UTC) are used, nothing later.")
  LocalDate date;

  @Option(names = "--events", paramLabel = "PATH",
      description = "Events file or folder; overrides personas.input.events.path.")
  String events;

  @Option(names = "--profiles", paramLabel = "PATH",
      description = "Profiles file or folder; overrides personas.input.profiles.path. \"\" reads none.")
  String profiles;

  @Option(names = "--output", paramLabel = "DIR",
      description = "Root folder of the output tables; overrides personas.output.path.")
  String output;

  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master, e.g. local[2]. Default: local[*], or whatever spark-submit set.")
  String master;

  /** The configuration with the command-line overrides applied. */
  PersonasConfig load() {
    return ConfigLoader.load(config).withPaths(events, profiles, output);
  }
}
