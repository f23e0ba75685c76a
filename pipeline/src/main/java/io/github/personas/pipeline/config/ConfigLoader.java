package io.github.personas.pipeline.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Loads and validates the HOCON configuration: bundled defaults, then the user's file on top.
 *
 * <p>Every check happens here, before Spark starts, so a bad file fails in a second with a
 * message naming the file and key instead of after an hour of work.
 */
public final class ConfigLoader {

  /** Classpath location of the defaults; the build copies conf/personas.conf there. */
  public static final String DEFAULTS_RESOURCE = "io/github/personas/pipeline/config/personas.conf";

  private static final String ROOT = "personas";
  private static final Set<String> FORMATS = Set.of("parquet", "csv", "json", "text");
  /** Maps whose keys are the user's own (reader options, column mappings). */
  private static final Set<String> FREE_FORM_SUFFIXES = Set.of("options", "columns", "personal_columns");

  private ConfigLoader() {}

  /** Loads the bundled defaults alone. */
  public static PersonasConfig defaults() {
    return load(null);
  }

  /**
   * Loads the defaults with {@code userFile} on top.
   *
   * @param userFile a HOCON file, or null for the defaults alone
   * @throws ConfigException naming the file and key of the first problem found
   */
  public static PersonasConfig load(File userFile) {
    Config defaults = ConfigFactory.parseResources(
        ConfigLoader.class.getClassLoader(), DEFAULTS_RESOURCE,
        ConfigParseOptions.defaults().setAllowMissing(false));
    Config merged = defaults;
    String origin = "defaults (" + DEFAULTS_RESOURCE + ")";
    if (userFile != null) {
      if (!userFile.isFile()) {
        throw ConfigException.of("Config file %s does not exist or is not a file (--config).", userFile);
      }
      Config user;
      try {
        user = ConfigFactory.parseFile(userFile, ConfigParseOptions.defaults().setAllowMissing(false));
      } catch (com.typesafe.config.ConfigException e) {
        throw new ConfigException("Cannot parse config file " + userFile + ": " + e.getMessage(), e);
      }
      checkKnownKeys(user, defaults, userFile.getPath());
      merged = user.withFallback(defaults);
      origin = userFile.getPath();
    }
    try {
      // HOCON reads an unquoted ${date} (path = "/data/dt="${date}) as a reference to a key, and
      // an environment variable named date would fill it silently: a root key date holding the
      // text "${date}" answers that reference first, so quoted or not the placeholder survives
      // for the run to replace. Only a user's file could define a root key, and it may not.
      Config placeholders = ConfigFactory.parseMap(Map.of("date", PathTemplate.DATE), "the ${date} placeholder");
      Config resolved = merged.withFallback(placeholders)
          .resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(true));
      checkTypes(resolved, defaults);
      return build(resolved.getConfig(ROOT), origin, hash(resolved));
    } catch (com.typesafe.config.ConfigException.UnresolvedSubstitution e) {
      throw new ConfigException("Invalid configuration in " + origin + ": " + e.getMessage() + ". Outside quotes,"
          + " ${...} is a HOCON reference to another key; the only placeholder personas replaces is " + PathTemplate.DATE
          + ", in input paths.", e);
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigException("Invalid configuration in " + origin + ": " + e.getMessage(), e);
    }
  }

  private static void checkKnownKeys(Config user, Config defaults, String file) {
    for (Map.Entry<String, ConfigValue> e : user.entrySet()) {
      String key = e.getKey();
      if (defaults.hasPathOrNull(key) || isFreeForm(key)) {
        continue;
      }
      String line = e.getValue().origin().lineNumber() > 0 ? ":" + e.getValue().origin().lineNumber() : "";
      throw ConfigException.of(
          "Unknown config key '%s' in %s%s. Known keys are those in conf/personas.conf; check the spelling.",
          key, file, line);
    }
  }

  /**
   * Reads every setting the defaults have with the defaults' type, by its full path, so a wrong
   * type is reported as {@code file: line: personas.personas.k_min has type STRING rather than
   * NUMBER} before any setting is used (later reads only see the part below {@code personas}).
   */
  private static void checkTypes(Config resolved, Config defaults) {
    for (Map.Entry<String, ConfigValue> e : defaults.entrySet()) {
      String path = e.getKey();
      switch (e.getValue().valueType()) {
        case NUMBER -> resolved.getNumber(path);
        case BOOLEAN -> resolved.getBoolean(path);
        case STRING -> resolved.getString(path);
        case LIST -> resolved.getList(path);
        default -> resolved.getValue(path);
      }
    }
  }

  private static boolean isFreeForm(String key) {
    List<String> parts = com.typesafe.config.ConfigUtil.splitPath(key);
    for (int i = 0; i < parts.size() - 1; i++) {
      if (FREE_FORM_SUFFIXES.contains(parts.get(i)) && i >= 1 && parts.get(0).equals(ROOT)) {
        return true;
      }
    }
    return false;
  }

  /** A share within [0, 1] at {@code personas.<key>}. */
  private static double share(Config c, String key, String origin) {
    double v = c.getDouble(key);
    require(v >= 0 && v <= 1, "personas.%s must be within [0, 1], got %s (%s)", key, v, origin);
    return v;
  }

  private static PersonasConfig build(Config c, String origin, String hash) {
    String timezone = c.getString("run.timezone");
    try {
      ZoneId.of(timezone);
    } catch (DateTimeException e) {
      throw ConfigException.of("personas.run.timezone = '%s' in %s is not an IANA time zone id (e.g. UTC, Europe/London).",
          timezone, origin);
    }
    List<Integer> windows = c.getIntList("features.session_windows");
    require(!windows.isEmpty() && windows.stream().allMatch(w -> w >= 1 && w <= 3650)
            && windows.stream().distinct().count() == windows.size(),
        "personas.features.session_windows must be distinct whole days within [1, 3650], got %s (%s)", windows, origin);
    SourceConfig events = source(c, "events", origin);
    if (!events.isPresent()) {
      throw ConfigException.of("personas.input.events.path is empty in %s: events are required (or pass --events).", origin);
    }
    SourceConfig profiles = source(c, "profiles", origin);
    inFile(origin, () -> PathTemplate.checkFixed(ROOT + ".output.path", c.getString("output.path"),
        PersonasConfig.OUTPUT_TAKES_NO_PLACEHOLDER));
    int files = c.getInt("output.files_per_partition");
    require(files >= 1, "personas.output.files_per_partition must be at least 1, got %s (%s)", files, origin);
    long rowsPerFile = c.getLong("output.rows_per_file");
    require(rowsPerFile >= 1, "personas.output.rows_per_file must be at least 1, got %s (%s)", rowsPerFile, origin);
    String catalog = c.getString("output.catalog").trim();
    // One spelling for Spark, the Hive metastore (which lower-cases names) and Trino, and nothing
    // a SQL statement would need to quote.
    require(catalog.isEmpty() || catalog.matches("[a-z_][a-z0-9_]*"),
        "personas.output.catalog = '%s' in %s is not a database name: lower-case letters, digits and _, starting"
            + " with a letter or _ (or \"\" for no catalog registration)", catalog, origin);

    double maxQ = share(c, "quality.max_quarantine_share", origin);
    double maxFuture = share(c, "quality.max_future_share", origin);
    double warnMargin = share(c, "quality.warn_margin", origin);
    long minEvents = c.getLong("quality.min_accepted_events");
    long minUsers = c.getLong("quality.min_users");
    require(minEvents >= 0, "personas.quality.min_accepted_events must be at least 0, got %s (%s)", minEvents, origin);
    require(minUsers >= 0, "personas.quality.min_users must be at least 0, got %s (%s)", minUsers, origin);
    double maxRevenue = c.getDouble("quality.max_revenue_per_event");
    require(maxRevenue > 0 && Double.isFinite(maxRevenue),
        "personas.quality.max_revenue_per_event must be a positive finite number, got %s (%s)", maxRevenue, origin);
    String earliestText = c.getString("quality.earliest_event_date");
    java.time.LocalDate earliest;
    try {
      earliest = java.time.LocalDate.parse(earliestText.trim());
    } catch (java.time.format.DateTimeParseException e) {
      throw ConfigException.of("personas.quality.earliest_event_date must be a date YYYY-MM-DD, got '%s' (%s)",
          earliestText, origin);
    }
    // Epoch seconds misread as milliseconds land in January 1970; an earliest date before 1971
    // could not tell them from real events.
    require(earliest.getYear() >= 1971,
        "personas.quality.earliest_event_date must be 1971-01-01 or later, got %s (%s)", earliest, origin);
    int maxDaysAfterLatest = c.getInt("quality.max_days_after_latest_event");
    require(maxDaysAfterLatest >= 0,
        "personas.quality.max_days_after_latest_event must be at least 0, got %s (%s)", maxDaysAfterLatest, origin);
    PersonasConfig.Quality quality = new PersonasConfig.Quality(maxQ, maxFuture, minEvents, minUsers, warnMargin,
        maxRevenue, earliest, maxDaysAfterLatest);

    double relErr = c.getDouble("rfm.quantile_relative_error");
    require(relErr >= 0 && relErr < 0.1, "personas.rfm.quantile_relative_error must be within [0, 0.1), got %s (%s)", relErr, origin);
    List<NamedExpr> segmentRules = namedList(c, "rfm.segments", "when", origin);
    require(!segmentRules.isEmpty(), "personas.rfm.segments is empty in %s: give at least one rule", origin);
    String noPurchase = c.getString("rfm.no_purchase_segment");
    for (NamedExpr r : segmentRules) {
      require(!r.name().equals(noPurchase),
          "personas.rfm.segments rule '%s' has the name of rfm.no_purchase_segment (%s)", r.name(), origin);
    }
    PersonasConfig.CutPoints cuts = new PersonasConfig.CutPoints(
        cutPoints(c, "recency_days", origin), cutPoints(c, "frequency", origin), cutPoints(c, "monetary", origin));
    PersonasConfig.Rfm rfm = new PersonasConfig.Rfm(relErr, cuts, noPurchase, segmentRules);

    List<NamedExpr> stages = namedList(c, "lifecycle.stages", "when", origin);
    String otherwise = c.getString("lifecycle.otherwise");
    require(stages.stream().noneMatch(r -> r.name().equals(otherwise)),
        "personas.lifecycle.stages has a rule named like personas.lifecycle.otherwise ('%s') in %s", otherwise, origin);
    PersonasConfig.Lifecycle lifecycle = new PersonasConfig.Lifecycle(otherwise, stages);
    double holdoutShare = c.getDouble("holdout.share");
    require(holdoutShare >= 0 && holdoutShare <= 0.5, "personas.holdout.share must be within [0, 0.5], got %s (%s)",
        holdoutShare, origin);
    PersonasConfig.Holdout holdout = new PersonasConfig.Holdout(holdoutShare, c.getString("holdout.salt"));

    PersonasConfig.Personas personas = personas(c, origin);

    List<String> dims = c.getStringList("report.dimensions");
    require(!dims.isEmpty() && dims.stream().distinct().count() == dims.size(),
        "personas.report.dimensions must list at least one column, each once, got %s (%s)", dims, origin);
    double alpha = c.getDouble("report.significance_level");
    require(alpha > 0 && alpha < 1, "personas.report.significance_level must be within (0, 1), got %s (%s)", alpha,
        origin);
    double minEffect = c.getDouble("report.min_effect");
    // A lift can fall at most to 0, 100 % below the population: from 1 on, no segment below
    // average could ever be marked.
    require(minEffect >= 0 && minEffect < 1, "personas.report.min_effect must be within [0, 1), got %s (%s): it is"
        + " how far from 1 a segment's lift must be to be marked significant, e.g. 0.05 for 5 %%", minEffect, origin);
    PersonasConfig.Report report = new PersonasConfig.Report(dims, alpha, minEffect,
        c.getStringList("report.dormant_stages"));
    String suppressionFormat = c.getString("privacy.suppression_format").toLowerCase(java.util.Locale.ROOT);
    require(Set.of("text", "csv", "parquet").contains(suppressionFormat),
        "personas.privacy.suppression_format = '%s' in %s is not one of text, csv, parquet", suppressionFormat, origin);
    // Suppression is by the list as it is now: a backfill of an old date applying that day's list
    // would publish again the users who objected since.
    inFile(origin, () -> PathTemplate.checkFixed(ROOT + ".privacy.suppression_list",
        c.getString("privacy.suppression_list"), "a run of any date, a backfill's too, must apply the current list:"
            + " a list as of an old date would publish again the users who objected since"));
    PersonasConfig.Privacy privacy = new PersonasConfig.Privacy(c.getString("privacy.salt"),
        c.getString("privacy.suppression_list"), suppressionFormat);
    boolean anyPersonal = !events.personalColumns().isEmpty() || !profiles.personalColumns().isEmpty();
    require(!anyPersonal || !privacy.salt().isBlank(),
        "personas.privacy.salt is empty in %s but personal columns are hashed: set a secret salt (e.g. from the"
            + " environment: salt = ${?PERSONAS_PII_SALT}), or the hashes of e-mail addresses can be reversed by"
            + " hashing a list of addresses", origin);
    String unit = c.getString("predict.time_unit").toLowerCase(java.util.Locale.ROOT);
    require(Set.of("days", "weeks").contains(unit),
        "personas.predict.time_unit = '%s' in %s is not one of days, weeks", unit, origin);
    List<Integer> horizons = c.getIntList("predict.horizons_days");
    require(!horizons.isEmpty() && horizons.stream().allMatch(h -> h > 0)
            && horizons.stream().distinct().sorted().toList().equals(horizons),
        "personas.predict.horizons_days in %s must be positive days in ascending order, each once, got %s", origin,
        horizons);
    double penalty = c.getDouble("predict.penalty");
    require(penalty >= 0, "personas.predict.penalty in %s must be >= 0, got %s", origin, penalty);
    double discount = c.getDouble("predict.monthly_discount_rate");
    require(discount >= 0 && discount < 1, "personas.predict.monthly_discount_rate in %s must be in [0, 1), got %s",
        origin, discount);
    PersonasConfig.Predict predict = new PersonasConfig.Predict(c.getBoolean("predict.enabled"),
        unit.equals("weeks") ? 7 : 1, horizons, penalty, discount, propensity(c, origin));
    return new PersonasConfig(origin, hash, timezone, windows, events, profiles, c.getString("output.path"),
        files, rowsPerFile, quality, rfm, lifecycle, holdout, personas, report, privacy, predict, catalog);
  }

  private static PersonasConfig.Propensity propensity(Config c, String origin) {
    String k = "predict.propensity.";
    int horizon = c.getInt(k + "horizon_days");
    require(horizon > 0, "personas.predict.propensity.horizon_days in %s must be positive, got %s", origin, horizon);
    String classifier = c.getString(k + "classifier").toLowerCase(java.util.Locale.ROOT);
    require(Set.of("gbt", "logistic").contains(classifier),
        "personas.predict.propensity.classifier = '%s' in %s is not one of gbt, logistic", classifier, origin);
    double testShare = c.getDouble(k + "test_share");
    require(testShare > 0 && testShare < 1, "personas.predict.propensity.test_share in %s must be in (0, 1), got %s",
        origin, testShare);
    long maxUsers = c.getLong(k + "max_training_users");
    // A model needs 500 training users after the hash sample, which varies by a few percent.
    require(maxUsers >= 1000, "personas.predict.propensity.max_training_users in %s must be at least 1000, got %s",
        origin, maxUsers);
    List<String> features = c.getStringList(k + "features");
    require(!features.isEmpty() && features.stream().distinct().count() == features.size(),
        "personas.predict.propensity.features in %s must name feature columns, each once, got %s", origin, features);
    return new PersonasConfig.Propensity(c.getBoolean(k + "enabled"), horizon, classifier, testShare, maxUsers,
        features);
  }

  private static List<Double> cutPoints(Config c, String measure, String origin) {
    String key = "rfm.cut_points." + measure;
    List<Double> points = c.getDoubleList(key);
    require(points.isEmpty() || points.size() == 4,
        "%s.%s in %s needs exactly 4 values (the bounds of scores 1..4) or [] for quantiles, got %s",
        ROOT, key, origin, points);
    for (int i = 1; i < points.size(); i++) {
      require(points.get(i) > points.get(i - 1), "%s.%s in %s must be strictly ascending, got %s",
          ROOT, key, origin, points);
    }
    return points;
  }

  /** Columns of the persona profile that inputs and descriptors must not shadow. */
  private static final List<String> PROFILE_COLUMNS = List.of("users", "share", "kind", "dominant_lifecycle_stage",
      "dominant_rfm_segment");

  private static PersonasConfig.Personas personas(Config c, String origin) {
    int kMin = c.getInt("personas.k_min");
    int kMax = c.getInt("personas.k_max");
    require(kMin >= 2 && kMax <= 100 && kMin <= kMax,
        "personas.personas.k_min and k_max must satisfy 2 <= k_min <= k_max <= 100, got k_min = %s, k_max = %s (%s)",
        kMin, kMax, origin);
    int maxIter = c.getInt("personas.max_iterations");
    require(maxIter >= 1, "personas.personas.max_iterations must be at least 1, got %s (%s)", maxIter, origin);
    int sample = c.getInt("personas.selection_sample_users");
    require(sample >= 100, "personas.personas.selection_sample_users must be at least 100, got %s (%s)", sample, origin);
    double tolerance = c.getDouble("personas.silhouette_tolerance");
    require(tolerance >= 0 && tolerance < 1, "personas.personas.silhouette_tolerance must be within [0, 1), got %s (%s)",
        tolerance, origin);
    double changeGain = c.getDouble("personas.k_change_min_gain");
    require(changeGain >= 0 && changeGain < 1, "personas.personas.k_change_min_gain must be within [0, 1), got %s (%s)",
        changeGain, origin);
    double minShare = c.getDouble("personas.min_share");
    require(minShare >= 0 && minShare <= 0.5, "personas.personas.min_share must be within [0, 0.5], got %s (%s)",
        minShare, origin);
    double match = c.getDouble("personas.match_max_distance");
    require(match >= 0, "personas.personas.match_max_distance must be at least 0, got %s (%s)", match, origin);

    String path = "personas.features";
    ConfigList list = c.getList(path);
    List<PersonasConfig.ClusterInput> inputs = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      Config item = object(list.get(i), path, i, origin, Set.of("name", "expr", "transform", "describe"),
          Set.of("name", "expr"));
      String name = item.getString("name").trim();
      require(name.matches("[a-z][a-z0-9_]*") && !PROFILE_COLUMNS.contains(name),
          "%s.%s[%s] in %s: name '%s' must be snake_case (a-z, 0-9, _) and not one of %s: it becomes a column name",
          ROOT, path, i, origin, name, PROFILE_COLUMNS);
      require(names.add(name), "%s.%s in %s names '%s' twice; names must be unique", ROOT, path, origin, name);
      String transform = item.hasPath("transform") ? item.getString("transform").trim() : "none";
      PersonasConfig.Transform t;
      try {
        t = PersonasConfig.Transform.valueOf(transform.toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw ConfigException.of("%s.%s[%s] '%s' in %s: transform '%s' is not one of none, log1p, sqrt", ROOT, path, i,
            name, origin, transform);
      }
      String sql = item.getString("expr").trim();
      require(!sql.isEmpty(), "%s.%s[%s] '%s' in %s has an empty expr", ROOT, path, i, name, origin);
      String describe = item.hasPath("describe") ? item.getString("describe").trim() : sql;
      require(!describe.isEmpty(), "%s.%s[%s] '%s' in %s has an empty describe", ROOT, path, i, name, origin);
      inputs.add(new PersonasConfig.ClusterInput(name, sql, t, describe));
    }
    require(!inputs.isEmpty(), "personas.personas.features is empty in %s: give at least one clustering input", origin);
    double maxCorrelation = c.getDouble("personas.max_correlation");
    require(maxCorrelation > 0 && maxCorrelation <= 1,
        "personas.personas.max_correlation must be within (0, 1], got %s (%s)", maxCorrelation, origin);

    String rpath = "personas.rules";
    ConfigList rlist = c.getList(rpath);
    List<PersonasConfig.RulePersona> rules = new ArrayList<>();
    Set<String> ruleNames = new HashSet<>();
    for (int i = 0; i < rlist.size(); i++) {
      Config item = object(rlist.get(i), rpath, i, origin, Set.of("name", "when", "requires"), Set.of("name", "when"));
      String name = item.getString("name").trim();
      String when = item.getString("when").trim();
      require(!name.isEmpty() && !when.isEmpty(), "%s.%s[%s] in %s needs a name and a when", ROOT, rpath, i, origin);
      require(ruleNames.add(name.toLowerCase(java.util.Locale.ROOT)), "%s.%s in %s names '%s' twice; names must be unique",
          ROOT, rpath, origin, name);
      rules.add(new PersonasConfig.RulePersona(name, when,
          item.hasPath("requires") ? item.getString("requires").trim() : ""));
    }

    double minZ = c.getDouble("personas.naming.min_z");
    require(minZ >= 0, "personas.personas.naming.min_z must be at least 0, got %s (%s)", minZ, origin);
    int maxAdj = c.getInt("personas.naming.max_adjectives");
    require(maxAdj >= 1 && maxAdj <= 3, "personas.personas.naming.max_adjectives must be within [1, 3], got %s (%s)",
        maxAdj, origin);
    String vpath = "personas.naming.vocabulary";
    ConfigList vlist = c.getList(vpath);
    List<PersonasConfig.Word> words = new ArrayList<>();
    Set<String> worded = new HashSet<>();
    for (int i = 0; i < vlist.size(); i++) {
      Config item = object(vlist.get(i), vpath, i, origin, Set.of("feature", "high", "low"), Set.of("feature"));
      String feature = item.getString("feature").trim();
      require(names.contains(feature), "%s.%s[%s] in %s names feature '%s', which is not a clustering input; inputs: %s",
          ROOT, vpath, i, origin, feature, names);
      require(worded.add(feature), "%s.%s in %s has words for '%s' twice", ROOT, vpath, origin, feature);
      words.add(new PersonasConfig.Word(feature, item.hasPath("high") ? item.getString("high").trim() : "",
          item.hasPath("low") ? item.getString("low").trim() : ""));
    }
    List<NamedExpr> descriptors = namedList(c, "personas.naming.descriptors", "expr", origin);
    for (NamedExpr d : descriptors) {
      require(d.name().matches("[a-z][a-z0-9_]*") && !names.contains(d.name()) && !d.name().startsWith("z_")
              && !d.name().startsWith("all_") && !d.name().startsWith("reach_") && !PROFILE_COLUMNS.contains(d.name()),
          "%s.personas.naming.descriptors '%s' in %s: a descriptor name must be snake_case and differ from %s,"
              + " z_*, all_*, reach_* and the clustering inputs", ROOT, d.name(), origin, PROFILE_COLUMNS);
    }
    List<NamedExpr> nouns = namedList(c, "personas.naming.nouns", "when", origin);
    List<NamedExpr> templates = namedList(c, "personas.naming.templates", "when", origin);
    PersonasConfig.Naming naming = new PersonasConfig.Naming(minZ, maxAdj, words, descriptors, nouns,
        c.getString("personas.naming.noun_otherwise").trim(), templates);
    String ppath = "personas.playbook";
    ConfigList plist = c.getList(ppath);
    Set<String> playKeys = Set.of("when", "goal", "channels", "strategy");
    List<NamedExpr> channels = namedList(c, "personas.channels", "reach", origin);
    Set<String> channelNames = new HashSet<>();
    channels.forEach(ch -> channelNames.add(ch.name()));
    List<PersonasConfig.Play> plays = new ArrayList<>();
    for (int i = 0; i < plist.size(); i++) {
      Config item = object(plist.get(i), ppath, i, origin, playKeys, playKeys);
      plays.add(new PersonasConfig.Play(item.getString("when"), item.getString("goal"),
          channelList(item, ppath + "[" + i + "]", channelNames, origin), item.getString("strategy")));
    }
    Config other = c.getConfig("personas.playbook_otherwise");
    for (String k : List.of("goal", "channels", "strategy")) {
      require(other.hasPath(k), "%s.personas.playbook_otherwise in %s needs %s", ROOT, origin, k);
    }
    PersonasConfig.Play otherwise = new PersonasConfig.Play("true", other.getString("goal"),
        channelList(other, "personas.playbook_otherwise", channelNames, origin), other.getString("strategy"));
    double minReach = c.getDouble("personas.min_reach");
    require(minReach >= 0 && minReach <= 1, "personas.personas.min_reach must be within [0, 1], got %s (%s)", minReach,
        origin);
    Config cat = c.getConfig("personas.category_inputs");
    int top = cat.getInt("top");
    require(top >= 0 && top <= 20, "personas.personas.category_inputs.top must be within [0, 20], got %s (%s)", top,
        origin);
    double minUsers = cat.getDouble("min_users");
    require(minUsers >= 0 && minUsers <= 1, "personas.personas.category_inputs.min_users must be within [0, 1], got %s"
        + " (%s)", minUsers, origin);
    double weight = cat.getDouble("weight");
    require(weight > 0 && weight <= 10, "personas.personas.category_inputs.weight must be within (0, 10], got %s (%s)",
        weight, origin);
    String word = cat.getString("word").trim();
    require(word.contains("%s") && word.indexOf("%s") == word.lastIndexOf("%s") && !word.replace("%s", "").contains("%"),
        "personas.personas.category_inputs.word must hold %%s once (the category) and no other %%, got '%s' (%s)", word,
        origin);
    for (NamedExpr d : descriptors) {
      require(!d.name().startsWith(PersonasConfig.CategoryInputs.PREFIX) || top == 0, "personas.personas.naming"
          + ".descriptors '%s' in %s: names starting with '%s' are the category inputs' (personas.personas"
          + ".category_inputs)", d.name(), origin, PersonasConfig.CategoryInputs.PREFIX);
    }
    for (String n : names) {
      require(!n.startsWith(PersonasConfig.CategoryInputs.PREFIX) || top == 0, "personas.personas.features '%s' in %s: names starting with"
          + " '%s' are the category inputs' (personas.personas.category_inputs)", n, origin, PersonasConfig.CategoryInputs.PREFIX);
    }
    return new PersonasConfig.Personas(kMin, kMax, c.getLong("personas.seed"), maxIter, sample, tolerance, changeGain,
        minShare, match, inputs, rules, maxCorrelation,
        c.getStringList("personas.explain_with").stream().map(String::trim).toList(), naming, plays, otherwise,
        channels, minReach, new PersonasConfig.CategoryInputs(top, minUsers, weight, word));
  }

  private static List<String> channelList(Config item, String path, Set<String> known, String origin) {
    List<String> list = item.getStringList("channels").stream().map(String::trim).toList();
    for (String ch : list) {
      require(known.contains(ch), "%s.%s in %s lists channel '%s', which personas.personas.channels does not define;"
          + " channels: %s", ROOT, path, origin, ch, known);
    }
    return list;
  }

  private static Config object(ConfigValue v, String path, int i, String origin, Set<String> allowed,
                               Set<String> required) {
    require(v.valueType() == ConfigValueType.OBJECT,
        "%s.%s[%s] in %s must be an object with keys %s", ROOT, path, i, origin, allowed);
    for (String k : ((ConfigObject) v).keySet()) {
      require(allowed.contains(k), "%s.%s[%s] in %s has unknown key '%s'; expected %s", ROOT, path, i, origin, k,
          allowed);
    }
    Config item = ((ConfigObject) v).toConfig();
    for (String k : required) {
      require(item.hasPath(k), "%s.%s[%s] in %s needs %s", ROOT, path, i, origin, required);
    }
    return item;
  }

  private static SourceConfig source(Config c, String name, String origin) {
    String base = "input." + name;
    String key = ROOT + "." + base;
    String format = c.getString(base + ".format").toLowerCase(java.util.Locale.ROOT);
    require(FORMATS.contains(format), "%s.format = '%s' in %s is not one of %s", key, format, origin, FORMATS);
    inFile(origin, () -> PathTemplate.checkInput(key + ".path", c.getString(base + ".path")));
    return new SourceConfig(
        name,
        c.getString(base + ".path"),
        format,
        stringMap(c.getObject(base + ".options"), key + ".options", origin),
        c.getString(base + ".filter"),
        stringMap(c.getObject(base + ".columns"), key + ".columns", origin),
        key,
        personal(stringMap(c.getObject(base + ".personal_columns"), key + ".personal_columns", origin),
            key + ".personal_columns", origin),
        false,
        // Profiles have no event time to be later than the run date: the key is the events' alone.
        c.hasPath(base + ".holds_later_days") && c.getBoolean(base + ".holds_later_days"));
  }

  private static Map<String, String> personal(Map<String, String> columns, String key, String origin) {
    columns.forEach((column, action) -> require(action.equals("hash") || action.equals("drop"),
        "%s.%s = '%s' in %s: a personal column is either hash (salted SHA-256) or drop", key, column, action, origin));
    return columns;
  }

  private static Map<String, String> stringMap(ConfigObject obj, String key, String origin) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, ConfigValue> e : obj.entrySet()) {
      ConfigValue v = e.getValue();
      require(v.valueType() != ConfigValueType.OBJECT && v.valueType() != ConfigValueType.LIST
              && v.valueType() != ConfigValueType.NULL,
          "%s.%s in %s must be a single value, got %s", key, e.getKey(), origin, v.valueType());
      out.put(e.getKey(), String.valueOf(v.unwrapped()));
    }
    return out;
  }

  private static List<NamedExpr> namedList(Config c, String path, String sqlKey, String origin) {
    ConfigList list = c.getList(path);
    List<NamedExpr> out = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      ConfigValue v = list.get(i);
      require(v.valueType() == ConfigValueType.OBJECT,
          "%s.%s[%s] in %s must be an object { name = ..., %s = ... }", ROOT, path, i, origin, sqlKey);
      Config item = ((ConfigObject) v).toConfig();
      for (String k : ((ConfigObject) v).keySet()) {
        require(k.equals("name") || k.equals(sqlKey),
            "%s.%s[%s] in %s has unknown key '%s'; expected name and %s", ROOT, path, i, origin, k, sqlKey);
      }
      require(item.hasPath("name") && item.hasPath(sqlKey),
          "%s.%s[%s] in %s needs both name and %s", ROOT, path, i, origin, sqlKey);
      String name = item.getString("name").trim();
      String sql = item.getString(sqlKey).trim();
      require(!name.isEmpty() && !sql.isEmpty(), "%s.%s[%s] in %s has an empty name or %s", ROOT, path, i, origin, sqlKey);
      require(names.add(name), "%s.%s in %s names '%s' twice; names must be unique", ROOT, path, origin, name);
      out.add(new NamedExpr(name, sql));
    }
    return out;
  }

  private static String hash(Config resolved) {
    String rendered = resolved.getConfig(ROOT).root().render(ConfigRenderOptions.concise());
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(rendered.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  /** Runs a check that knows the key but not the file, naming the file in its error. */
  private static void inFile(String origin, Runnable check) {
    try {
      check.run();
    } catch (ConfigException e) {
      throw e.in(origin);
    }
  }

  private static void require(boolean ok, String format, Object... args) {
    if (!ok) {
      throw ConfigException.of(format, args);
    }
  }
}
