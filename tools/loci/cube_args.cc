// Registration of the put/update options and their translation into drafts and patches.

#include "tools/loci/cube_args.h"

#include <utility>

#include "tools/loci/cli_support.h"
#include "tools/loci/time_format.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

namespace {

// A single-valued option stored into an optional, so "given" and "not given" stay distinct
// (an empty string is a value: --source "" clears the source in an update).
CLI::Option* AddOptional(CLI::App* command, const std::string& name,
                         std::optional<std::string>* target, const std::string& type,
                         const std::string& help) {
  return command
      ->add_option_function<std::string>(
          name, [target](const std::string& value) { *target = value; }, help)
      ->type_name(type);
}

// A repeatable option, one value per occurrence.
CLI::Option* AddRepeated(CLI::App* command, const std::string& name,
                         std::vector<std::string>* target, const std::string& type,
                         const std::string& help) {
  return command->add_option(name, *target, help)->allow_extra_args(false)->type_name(type);
}

Status WithOption(const Status& s, std::string_view option) {
  return s.ok() ? s : s.WithContext(option);
}

template <typename T, typename Parse>
Status ParseOptional(const std::optional<std::string>& text, std::string_view option, Parse parse,
                     std::optional<T>* out) {
  if (!text) return Status::OK();
  Result<T> value = parse(*text);
  if (!value.ok()) return WithOption(value.status(), option);
  *out = std::move(*value);
  return Status::OK();
}

// The fields a draft and a patch have in common, all optional.
struct CommonFields {
  std::optional<std::string> payload;
  std::optional<uint16_t> kind;
  std::optional<CubeState> state;
  std::vector<NamedVector> vectors;
  std::vector<Attr> attrs;
  std::optional<std::vector<CubeId>> parents;
  std::optional<float> importance;
  std::optional<float> trust;
  std::optional<Timestamp> valid_from;
  std::optional<Timestamp> valid_to;
  std::optional<Timestamp> expires_at;
};

Status ParseCommon(const CubeArgs& a, CommonFields* f) {
  if (a.text) {
    f->payload = *a.text;
  } else if (a.payload_file) {
    std::string bytes;
    LOCI_RETURN_IF_ERROR(WithOption(ReadFileBytes(*a.payload_file, &bytes), "--payload-file"));
    f->payload = std::move(bytes);
  }
  LOCI_RETURN_IF_ERROR(ParseOptional(a.kind, "--kind", ParseKind, &f->kind));
  LOCI_RETURN_IF_ERROR(ParseOptional(a.state, "--state", ParseWritableState, &f->state));
  for (const std::string& text : a.vectors) {
    Result<NamedVector> v = ParseVectorArg(text);
    if (!v.ok()) return WithOption(v.status(), "--vector");
    f->vectors.push_back(std::move(*v));
  }
  for (bool as_string : {false, true}) {
    for (const std::string& text : as_string ? a.string_attrs : a.attrs) {
      Result<Attr> attr = ParseAttrArg(text, as_string);
      if (!attr.ok()) return WithOption(attr.status(), as_string ? "--attr-string" : "--attr");
      f->attrs.push_back(std::move(*attr));
    }
  }
  if (!a.parents.empty() || a.clear_parents) {
    f->parents.emplace();
    for (const std::string& text : a.parents) {
      Result<CubeId> id = ParseCubeId(text);
      if (!id.ok()) return WithOption(id.status(), "--parent");
      f->parents->push_back(*id);
    }
  }
  LOCI_RETURN_IF_ERROR(ParseOptional(a.importance, "--importance", ParseFloat, &f->importance));
  LOCI_RETURN_IF_ERROR(ParseOptional(a.trust, "--trust", ParseFloat, &f->trust));
  LOCI_RETURN_IF_ERROR(ParseOptional(a.valid_from, "--valid-from", ParseTime, &f->valid_from));
  LOCI_RETURN_IF_ERROR(ParseOptional(a.valid_to, "--valid-to", ParseTime, &f->valid_to));
  LOCI_RETURN_IF_ERROR(ParseOptional(a.expires_at, "--expires-at", ParseTime, &f->expires_at));
  return ParsedMetric(a).status();
}

}  // namespace

void AddCubeOptions(CLI::App* command, CubeArgs* args, CubeOptionSet set) {
  const bool for_update = set == CubeOptionSet::kUpdate;
  CLI::Option* text =
      AddOptional(command, "--text", &args->text, "TEXT", "Payload: these UTF-8 bytes");
  CLI::Option* file = AddOptional(command, "--payload-file", &args->payload_file, "FILE",
                                  "Payload: the bytes of this file ('-': standard input)");
  text->excludes(file);
  AddOptional(command, "--kind", &args->kind, "KIND",
              "plaintext, activation, parametric or an application code");
  AddRepeated(command, "--vector", &args->vectors, "NAME=X,...",
              "NAME=x1,x2,...: an embedding for vector field NAME (repeatable)");
  AddRepeated(command, "--attr", &args->attrs, "KEY=VALUE",
              "KEY=VALUE attribute; true/false, integers and decimals are typed (repeatable)");
  AddRepeated(command, "--attr-string", &args->string_attrs, "KEY=VALUE",
              "KEY=VALUE attribute whose value is always a string (repeatable)");
  AddOptional(command, "--source", &args->source, "SRC", "Provenance: message id, file, URL...");
  AddOptional(command, "--agent", &args->agent, "AGENT", "The agent that wrote it");
  AddOptional(command, "--episode", &args->episode, "EPISODE",
              for_update ? "Move the cube to this episode (session, task); \"\" takes it out"
                         : "The episode (session, task) the cube belongs to");
  AddOptional(command, "--importance", &args->importance, "FLOAT", "Importance score (float)");
  AddOptional(command, "--trust", &args->trust, "FLOAT", "Trust score (float)");
  if (set != CubeOptionSet::kFuse) {
    AddRepeated(command, "--parent", &args->parents, "ID",
                "ID of a cube this one derives from (repeatable)");
  }
  AddOptional(command, "--valid-from", &args->valid_from, "TIME",
              "Start of validity: RFC 3339 or microseconds (default: commit time)");
  AddOptional(command, "--valid-to", &args->valid_to, "TIME", "End of validity (default: forever)");
  AddOptional(command, "--expires-at", &args->expires_at, "TIME",
              "TTL: missing for every read from this time on, then erased (must be ahead)");
  AddOptional(command, "--state", &args->state, "STATE", "active or archived");
  if (set != CubeOptionSet::kFuse) {
    AddOptional(command, "--metric", &args->metric, "METRIC",
                "cosine, ip or l2: the metric of vector fields this write creates");
  }
  command->add_flag("--no-sync", args->no_sync,
                    "Acknowledge before the write is durable against power loss");
  if (for_update) {
    AddRepeated(command, "--remove-attr", &args->remove_attrs, "KEY",
                "Drop attribute KEY (repeatable)");
    AddRepeated(command, "--remove-vector", &args->remove_vectors, "NAME",
                "Drop vector field NAME (repeatable)");
    command->add_flag("--clear-parents", args->clear_parents,
                      "Set the parents to exactly the --parent ids given (none if no --parent)");
  }
}

Status BuildDraft(const CubeArgs& args, CubeDraft* draft) {
  CommonFields f;
  LOCI_RETURN_IF_ERROR(ParseCommon(args, &f));
  if (f.payload) draft->payload = std::move(*f.payload);
  if (f.kind) draft->kind = *f.kind;
  if (f.state) draft->state = *f.state;
  draft->vectors = std::move(f.vectors);
  draft->attrs = std::move(f.attrs);
  if (args.source) draft->source = *args.source;
  if (args.agent) draft->agent = *args.agent;
  if (args.episode) draft->episode = *args.episode;
  if (f.parents) draft->parents = std::move(*f.parents);
  if (f.importance) draft->importance = *f.importance;
  if (f.trust) draft->trust = *f.trust;
  draft->valid_from = f.valid_from;
  draft->valid_to = f.valid_to;
  draft->expires_at = f.expires_at;
  return Status::OK();
}

Status BuildPatch(const CubeArgs& args, CubePatch* patch) {
  CommonFields f;
  LOCI_RETURN_IF_ERROR(ParseCommon(args, &f));
  patch->payload = std::move(f.payload);
  patch->kind = f.kind;
  patch->state = f.state;
  patch->set_vectors = std::move(f.vectors);
  patch->remove_vectors = args.remove_vectors;
  patch->set_attrs = std::move(f.attrs);
  patch->remove_attrs = args.remove_attrs;
  patch->source = args.source;
  patch->agent = args.agent;
  patch->episode = args.episode;
  patch->parents = std::move(f.parents);
  patch->importance = f.importance;
  patch->trust = f.trust;
  patch->valid_from = f.valid_from;
  patch->valid_to = f.valid_to;
  patch->expires_at = f.expires_at;
  return Status::OK();
}

Result<std::optional<Metric>> ParsedMetric(const CubeArgs& args) {
  if (!args.metric) return std::optional<Metric>();
  Result<Metric> metric = ParseMetric(*args.metric);
  if (!metric.ok()) return WithOption(metric.status(), "--metric");
  return std::optional<Metric>(*metric);
}

WriteOptions WriteOptionsFor(const CubeArgs& args) {
  WriteOptions options;
  options.sync = !args.no_sync;
  return options;
}

}  // namespace loci::cli
