package io.github.personas.jobs;

import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Picocli converters with messages that say what a valid value looks like. */
final class Converters {

  private Converters() {}

  /** Strict ISO date, as Airflow's {{ ds }} gives it. */
  static final class DateConverter implements ITypeConverter<LocalDate> {
    @Override
    public LocalDate convert(String value) {
      try {
        return LocalDate.parse(value);
      } catch (DateTimeParseException e) {
        throw new TypeConversionException("'" + value + "' is not a date in the form YYYY-MM-DD, e.g. 2011-12-09");
      }
    }
  }
}
