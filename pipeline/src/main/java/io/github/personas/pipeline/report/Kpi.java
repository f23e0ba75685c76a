package io.github.personas.pipeline.report;

import java.util.List;

/**
 * One KPI of the segment report: a rate (0/1 per user) or a mean, over the users it applies to.
 *
 * @param name       the column name in segment_kpis
 * @param rate       true for a rate (tested with the two-proportion test), false for a mean (Welch)
 * @param valueSql   Spark SQL per user: 1/0 (or true/false) for a rate, a number for a mean; null
 *                   leaves the user out of this KPI
 * @param appliesSql Spark SQL condition: the users the KPI is about (others are left out)
 * @param meaning    one line for docs/outputs.md
 */
public record Kpi(String name, boolean rate, String valueSql, String appliesSql, String meaning) {

  /**
   * The report's KPIs. Lifecycle stages listed in {@code dormantStages} count as dormant.
   *
   * @param dormantStages lifecycle_stage values that count as dormant
   */
  public static List<Kpi> defaults(List<String> dormantStages) {
    String dormant = dormantStages.isEmpty() ? "false"
        : "lifecycle_stage IN (" + String.join(", ", dormantStages.stream()
            .map(s -> "'" + s.replace("'", "\\'") + "'").toList()) + ")";
    return List.of(
        new Kpi("conversion_rate", true, "is_buyer", "true", "buyers / users"),
        new Kpi("arpu", false, "monetary", "true", "mean monetary (revenue per user)"),
        new Kpi("avg_order_value", false, "avg_order_value", "is_buyer", "mean of buyers' average order values"),
        new Kpi("orders_per_buyer", false, "frequency", "is_buyer", "mean orders of buyers"),
        new Kpi("sessions_per_user_30d", false, "sessions_30d", "true", "mean sessions_30d"),
        new Kpi("active_rate_7d", true, "sessions_7d > 0", "true", "users with a session in the last 7 days / users"),
        new Kpi("active_rate_30d", true, "active_days_30d > 0", "true",
            "users with an app event in the last 30 days / users"),
        new Kpi("retention_rate_30d", true, "active_days_30d > 0", "active_days_prev_30d > 0",
            "of the users active in the 30 days before the last 30, those active in the last 30"),
        new Kpi("dormant_share", true, dormant, "true", "users in a dormant lifecycle stage / users"),
        new Kpi("push_opt_in_rate", true, "push_opt_in", "push_opt_in IS NOT NULL", "push opt-ins / users with a known choice"),
        new Kpi("email_opt_in_rate", true, "email_opt_in", "email_opt_in IS NOT NULL",
            "email opt-ins / users with a known choice"),
        new Kpi("sms_opt_in_rate", true, "sms_opt_in", "sms_opt_in IS NOT NULL", "SMS opt-ins / users with a known choice"),
        new Kpi("message_open_rate", false, "message_open_rate", "message_open_rate IS NOT NULL",
            "mean of users' 30-day message open rates, users who received messages"),
        new Kpi("message_click_rate", false, "message_click_rate", "message_click_rate IS NOT NULL",
            "mean of users' 30-day message click rates, users who received messages"),
        new Kpi("mean_recency_days", false, "recency_days", "is_buyer", "mean recency_days of buyers"));
  }
}
