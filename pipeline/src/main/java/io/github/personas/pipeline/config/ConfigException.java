package io.github.personas.pipeline.config;

/**
 * A configuration or usage error: a bad key, value, rule, path or missing input column.
 *
 * <p>These are the user's to fix, so the CLI maps them to exit code 2 and prints the message
 * alone; every message names the file or config key to change.
 */
public class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Formats the message with {@link String#format}, so checks read like Iceberg's. */
  public static ConfigException of(String format, Object... args) {
    return new ConfigException(String.format(format, args));
  }
}
