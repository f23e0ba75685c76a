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

  /**
   * This error with the configuration file it concerns, for checks that only know the key.
   *
   * @param origin the file (or defaults) the configuration was loaded from
   * @return this when the message already names {@code origin}, else a copy naming it
   */
  public ConfigException in(String origin) {
    if (origin == null || getMessage() == null || getMessage().contains(origin)) {
      return this;
    }
    return new ConfigException(getMessage() + " (configuration: " + origin + ")", this);
  }

  /**
   * The first non-blank line of {@code e}'s message (Spark's parse errors start with an empty
   * line and go on with the whole query), or its class when it has no message.
   */
  public static String firstLine(Throwable e) {
    String m = e.getMessage();
    return m == null ? e.toString() : m.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse(e.toString());
  }
}
