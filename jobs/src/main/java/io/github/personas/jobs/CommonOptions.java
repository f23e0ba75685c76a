package io.github.personas.jobs;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.PersonasConfig;
import java.io.File;
import picocli.CommandLine.Option;

/**
 * Options every command that reads a configuration shares: configuration, inputs, output, master.
 * The date is each command's own: one date for evaluate, a date or a range for the pipeline.
 */
public final class CommonOptions {

  @Option(names = "--config", paramLabel = "FILE",
      description = "HOCON configuration file, loaded on top of the defaults in conf/personas.conf.")
  File config;

  @Option(names = "--events", paramLabel = "PATH",
      description = "Events file or folder; overrides personas.input.events.path. $${date} in it is the run"
          + " date, for a folder per day: --events '/data/events/dt=$${date}' (in single quotes, or the shell"
          + " replaces it).")
  String events;

  @Option(names = "--profiles", paramLabel = "PATH",
      description = "Profiles file or folder; overrides personas.input.profiles.path; may hold $${date}. \"\" reads none.")
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
