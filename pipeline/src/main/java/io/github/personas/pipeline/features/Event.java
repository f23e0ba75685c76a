package io.github.personas.pipeline.features;

import io.github.personas.pipeline.engine.FoldRow;
import io.github.personas.pipeline.engine.Input;

/**
 * An accepted event as the per-user aggregates read it: its time, its kind (bits of
 * {@link UserAggregates}), revenue and session duration, and its age in days and local hour and
 * weekday, each computed at most once per event.
 */
final class Event extends FoldRow {

  /**
   * The inputs the view reads. A fold places its inputs, so each fold has its own: a static
   * input would be placed on the driver only, and not on an executor, whose classes start afresh.
   */
  static final class Inputs implements java.io.Serializable {
    /** Event time, epoch microseconds. */
    final Input time = Input.of("t", "unix_micros(event_time)");
    final Input revenue = Input.column("revenue");
    final Input duration = Input.column("duration_s");

    java.util.List<Input> all() {
      return java.util.List.of(time, revenue, duration);
    }
  }

  private final Clock clock;
  private final Input time;
  private final Input revenue;
  private final Input duration;
  private int age;
  private boolean aged;

  Event(Clock clock, Inputs inputs) {
    this.clock = clock;
    this.time = inputs.time;
    this.revenue = inputs.revenue;
    this.duration = inputs.duration;
  }

  @Override
  protected void onRow() {
    aged = false;
  }

  long time() {
    return getLong(time);
  }

  /** Days from the event's date to the run date: 0 on the run date. */
  int age() {
    if (!aged) {
      age = clock.age(time());
      aged = true;
    }
    return age;
  }

  /** The event's UTC date as days since 1970-01-01: the day purchase days are counted in. */
  long utcDay() {
    return Math.floorDiv(time(), 86_400_000_000L);
  }

  /** In the 30 days ending at the run date. */
  boolean in30() {
    return age() < 30;
  }

  boolean hasRevenue() {
    return !isNull(revenue);
  }

  double revenue() {
    return getDouble(revenue);
  }

  boolean hasDuration() {
    return !isNull(duration);
  }

  double duration() {
    return getDouble(duration);
  }

  /** Hour of day, 0 to 23, in the local zone. */
  int localHour() {
    return clock.localHour(time());
  }

  /** Day of week in the local zone, 1 = Sunday to 7 = Saturday. */
  int localDayOfWeek() {
    return clock.localDayOfWeek(time());
  }
}
