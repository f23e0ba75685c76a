package io.github.personas.pipeline.features;

/**
 * Dates, hours and weekdays of event times, computed as Spark SQL computes
 * {@code datediff(D, to_date(event_time))}, {@code hour(from_utc_timestamp(event_time, tz))} and
 * {@code dayofweek(from_utc_timestamp(event_time, tz))} under the session time zone, from zone
 * offsets instead of a java.time date per call (those expressions were a third of the pass).
 */
final class Clock implements java.io.Serializable {
  private static final long SECONDS_PER_DAY = 86_400L;
  private final String sessionZone;
  private final String localZone;
  private final long runDay;
  private transient java.time.zone.ZoneRules session;
  private transient java.time.zone.ZoneRules local;

  /**
   * @param sessionZone the Spark session time zone
   * @param localZone   the zone of local hours and weekdays
   * @param runDate     the run date D
   */
  Clock(String sessionZone, String localZone, java.time.LocalDate runDate) {
    this.sessionZone = sessionZone;
    this.localZone = localZone;
    this.runDay = runDate.toEpochDay();
  }

  private static java.time.zone.ZoneRules rules(String zone) {
    return java.time.ZoneId.of(zone, java.time.ZoneId.SHORT_IDS).getRules();
  }

  private static long offset(java.time.zone.ZoneRules rules, long epochSecond) {
    return rules.isFixedOffset() ? rules.getOffset(java.time.Instant.EPOCH).getTotalSeconds()
        : rules.getOffset(java.time.Instant.ofEpochSecond(epochSecond)).getTotalSeconds();
  }

  private long sessionWall(long epochSecond) {
    if (session == null) {
      session = rules(sessionZone);
    }
    return epochSecond + offset(session, epochSecond);
  }

  /** Days from the event's date (session time zone) to the run date: 0 on the run date. */
  int age(long micros) {
    return (int) (runDay - Math.floorDiv(sessionWall(Math.floorDiv(micros, 1_000_000L)), SECONDS_PER_DAY));
  }

  /** from_utc_timestamp: the local wall clock, read as a UTC time, then shown in the session zone. */
  private long localWall(long micros) {
    if (local == null) {
      local = rules(localZone);
    }
    long s = Math.floorDiv(micros, 1_000_000L);
    return sessionWall(s + offset(local, s));
  }

  /** Hour of day, 0 to 23, in the local zone. */
  int localHour(long micros) {
    return (int) (Math.floorMod(localWall(micros), SECONDS_PER_DAY) / 3600);
  }

  /** Day of week in the local zone, 1 = Sunday to 7 = Saturday, as Spark's dayofweek. */
  int localDayOfWeek(long micros) {
    // 1970-01-01, day 0, was a Thursday (5).
    return (int) Math.floorMod(Math.floorDiv(localWall(micros), SECONDS_PER_DAY) + 4, 7) + 1;
  }
}
