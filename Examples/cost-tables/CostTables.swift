import ArgumentParser
import CostModel
import Foundation
import ModelIO
import Report
import _ExampleSupport

/// Reproduces the article's comparison tables, checks them against exact accounting of
/// concrete architectures, measures scaled-down versions here, and costs any supported
/// Hugging Face model.
@main
struct CostTables: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cost-tables",
    abstract: "The MoE analysis' dense-vs-MoE cost tables: quoted, recomputed, checked and measured.",
    discussion: """
      "The article" is the MoE analysis "Technical Deep Dive" on architecture decentralization \
      (sparse computation, MoE routing, task-level fine-tuning; undated, its figures run to 2025): \
      its Tables 1 and 2 are held as data in CostModel.Article, and docs/References.md lists what it \
      claims and where each claim is checked. Without --config: Table 1 under the article's convention, Table 1 under exact accounting \
      with its claims checked, a measured column on this machine, and Table 2 recomputed. \
      With --config: the same figures for one Hugging Face model. With --zoo: one table over \
      every config.json in a folder (each subfolder's, and the .json files at its top), sorted by \
      --sort.
      """)

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case markdown, csv, json
  }

  @OptionGroup var threading: ThreadsOption

  @Option(help: "Output format: markdown, csv or json.")
  var format: OutputFormat = .markdown

  @Option(help: "Hardware for projected latency: h100-sxm, a100-sxm, rtx4090 or this-machine (measured).")
  var hardware = "h100-sxm"

  @Option(help: "Number format of weights and KV cache: fp32, bf16, fp16, fp8 or int4.")
  var dtype = "bf16"

  @Option(help: "Context length (tokens attended) for FLOPs, KV cache and latency.")
  var context = 4096

  @Option(help: "Decode batch size (sequences per step) for latency and memory.")
  var batch = 1

  @Option(help: "Path to a Hugging Face config.json to cost instead of the article's tables.")
  var config: String?

  @Option(help: "A folder of Hugging Face configs to compare in one table.")
  var zoo: String?

  @Option(
    help: "Order of the --zoo table: \(ZooTable.Order.allCases.map(\.rawValue).joined(separator: ", ")).")
  var sort = "total"

  @Flag(help: "Skip the measured column (no timing runs).")
  var noMeasure = false

  @Option(help: "Width divisor for the measured, scaled-down architectures.")
  var scale = 16

  @Option(help: "Tokens per timed forward pass in the measured column.")
  var measureTokens = 64

  func validate() throws {
    guard DataType(rawValue: dtype) != nil else {
      throw ValidationError(
        "--dtype must be one of \(DataType.allCases.map(\.rawValue).joined(separator: ", ")), got \(dtype)")
    }
    let names = HardwareProfile.builtIn.map(\.name) + ["this-machine"]
    guard names.contains(hardware) else {
      throw ValidationError("--hardware must be one of \(names.joined(separator: ", ")), got \(hardware)")
    }
    guard context >= 1 && context <= 1 << 24 else {
      throw ValidationError("--context must be in 1...\(1 << 24), got \(context)")
    }
    guard batch >= 1 && batch <= 1 << 20 else {
      throw ValidationError("--batch must be in 1...\(1 << 20), got \(batch)")
    }
    guard ZooTable.Order(rawValue: sort) != nil else {
      throw ValidationError(
        "--sort must be one of \(ZooTable.Order.allCases.map(\.rawValue).joined(separator: ", ")), got \(sort)"
      )
    }
    guard config == nil || zoo == nil else { throw ValidationError("give --config or --zoo, not both") }
    guard scale >= 1 else { throw ValidationError("--scale must be at least 1, got \(scale)") }
    guard measureTokens >= 1 else {
      throw ValidationError("--measure-tokens must be at least 1, got \(measureTokens)")
    }
  }

  /// Whether MoEKit runs the model of the `config.json` at `path` (already read once), from
  /// `ModelFamilyRegistry`: the family that loads it, or that it is costed only.
  static func loadingNote(_ path: String) -> String {
    let supported = ModelFamilyRegistry.modelTypes
    guard let data = try? InputFile.contents(of: path), let fields = try? ConfigFields(json: data),
      let type = try? HuggingFaceConfig.modelType(of: fields, supported: supported)
    else {
      return
        "costed only: moe-generate does not load this model_type (it loads \(supported.joined(separator: ", ")))"
    }
    return "moe-generate loads it (the \(type) family)"
  }

  func run() throws {
    threading.apply()
    let settings = Settings(
      dataType: DataType(rawValue: dtype)!,
      hardware: hardware == "this-machine"
        ? HardwareProfile.calibrated() : HardwareProfile.builtIn.first { $0.name == hardware }!,
      context: context, batch: batch)
    if let config {
      let architecture: Architecture
      do {
        architecture = try HuggingFaceConfig.architecture(contentsOfFile: config)
      } catch let error as ConfigError {
        throw ValidationError("--config \(config): \(error)")
      }
      print(ModelReport(architecture: architecture, settings: settings).render(format))
      for note in architecture.unmodelledFields + [Self.loadingNote(config)] {
        FileHandle.standardError.write(Data("note: \(note)\n".utf8))
      }
      return
    }
    if let zoo {
      let (rows, failures) = try ZooTable(
        folder: zoo, settings: settings, order: ZooTable.Order(rawValue: sort)!
      )
      .rows()
      guard !rows.isEmpty || !failures.isEmpty else {
        throw ValidationError("--zoo \(zoo) holds no config.json")
      }
      print(ZooTable.render(rows, settings: settings, format: format))
      for row in rows {
        for note in row.architecture.unmodelledFields {
          FileHandle.standardError.write(Data("note: \(row.architecture.name): \(note)\n".utf8))
        }
      }
      guard failures.isEmpty else {
        throw ValidationError(
          "--zoo: \(failures.count) config(s) could not be costed: "
            + failures.map { "\($0.0): \($0.1)" }.joined(separator: "; "))
      }
      return
    }
    var sections = ArticleSections(settings: settings).sections()
    if !noMeasure {
      // Phases on standard error: the arithmetic is instant, the measured column takes seconds.
      var progress = ProgressBar(total: 2, stage: "cost-tables")
      progress.advance(label: "tables recomputed; measuring the scaled-down architectures")
      sections.insert(
        Measurement(settings: settings, scale: scale, tokens: measureTokens).section(),
        at: sections.count - 1)
      progress.advance(label: "measured")
      progress.finish()
    }
    if format == .markdown {
      print(
        "Tables 1 and 2 of the MoE analysis \"Technical Deep Dive\" (architecture decentralization; undated, figures to 2025), called \"the article\" below; its claims and where MoEKit checks them: docs/References.md\n"
      )
    }
    print(Section.render(sections, format))
  }
}

/// The choices every figure depends on.
struct Settings {
  var dataType: DataType
  var hardware: HardwareProfile
  var context: Int
  var batch: Int

  var description: String {
    "\(dataType.rawValue) weights and cache, context \(context), decode batch \(batch), \(hardware.name) (\(hardware.source))"
  }
}
