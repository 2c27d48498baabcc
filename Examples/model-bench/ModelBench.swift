import ArgumentParser
import Foundation
import Linalg
import MoE
import ModelIO
import Report
import _ExampleSupport

/// Writes a random bf16 checkpoint with the shape of a published MoE, loads it as MoEKit
/// holds it (bf16 weights read in place from the mapped file) and measures prefill and
/// decode speed against the bandwidth ideal measured in the same run.
@main
struct ModelBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "model-bench",
    abstract: "Prefill and decode speed of a whole bf16 MoE model beside the memory-bandwidth ideal.",
    discussion: """
      The checkpoint (config.json + model.safetensors, random bf16 weights, about 13.8 GB for \
      OLMoE-1B-7B) is written to --folder (a temporary folder by default, removed afterwards). A \
      decode step at batch 1 must read the bf16 weights of attention, the chosen experts and the \
      head once; the ideal is those bytes at the streaming bandwidth of a product over a 256 MB \
      Float matrix (the faster of sgemv and MoEKit's few-row kernel), measured between the decode steps. Resident memory is the process's peak after the \
      checkpoint was written, beside the checkpoint's size.
      """)

  @OptionGroup var threading: ThreadsOption

  @Option(help: "Model shape: \(ModelShape.presets.keys.sorted().joined(separator: ", ")).")
  var shape = "olmoe"

  @Option(help: "Use only the first N layers (1...the shape's layer count).")
  var layers: Int?

  @Option(help: "Prompt tokens for the prefill measurement (1...4096).")
  var promptTokens = 128

  @Option(help: "Decode steps to time (1...1024).")
  var decodeTokens = 16

  @Option(help: "Folder for the checkpoint (kept); default: a temporary folder, removed afterwards.")
  var folder: String?

  @Option(help: "Output: text or json.")
  var format: OutputFormat = .text

  @Option(help: "Seed of the random weights and prompt.")
  var seed: UInt64 = 1

  @Flag(
    help:
      "Also print where the prefill and an average decode step spend their time, operation by operation, with the weight bytes each reads and at what rate (on standard error)."
  )
  var profile = false

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

  func validate() throws {
    guard let preset = ModelShape.presets[shape] else {
      throw ValidationError(
        "--shape must be one of \(ModelShape.presets.keys.sorted().joined(separator: ", ")), got \(shape)")
    }
    if let layers, !(1...preset.layers).contains(layers) {
      throw ValidationError("--layers must be in 1...\(preset.layers), got \(layers)")
    }
    guard (1...4096).contains(promptTokens) else {
      throw ValidationError("--prompt-tokens must be in 1...4096, got \(promptTokens)")
    }
    guard (1...1024).contains(decodeTokens) else {
      throw ValidationError("--decode-tokens must be in 1...1024, got \(decodeTokens)")
    }
    if let folder {
      var isFolder: ObjCBool = false
      guard !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) || isFolder.boolValue
      else {
        throw ValidationError("--folder \(folder) is a file, not a folder")
      }
    }
    let needed = Double(selectedShape.checkpointBytes) * 1.15
    let available = Double(ProcessInfo.processInfo.physicalMemory)
    guard needed < available else {
      throw ValidationError(
        "the \(shape) checkpoint needs about \(Format.bytes(needed)) of memory and this machine has \(Format.bytes(available)); give --layers"
      )
    }
  }

  var selectedShape: ModelShape {
    var s = ModelShape.presets[shape]!
    if let layers { s.layers = layers }
    return s
  }

  func run() throws {
    threading.apply()
    BLAS.warnIfGenericKernels()
    let s = selectedShape
    let path =
      folder
      ?? FileManager.default.temporaryDirectory.appendingPathComponent(
        "moekit-model-bench-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0..<1 << 40))"
      ).path
    defer { if folder == nil { try? FileManager.default.removeItem(atPath: path) } }
    try OutputPath.makeFolder(path)
    // Phases on standard error: every tensor written, the load, the prefill, each decode step.
    var progress = ProgressBar(total: s.tensors.count + 2 + decodeTokens, stage: "model-bench")
    let writing = try Stopwatch.seconds {
      try Self.write(s, to: path, seed: seed) { progress.advance(label: "writing the checkpoint") }
    }
    let checkpointBytes =
      (try FileManager.default.attributesOfItem(atPath: path + "/model.safetensors")[.size]
      as? NSNumber)?.intValue ?? 0

    let stream = BandwidthProbe()  // allocated before the peak is reset; its bytes are taken off below
    PeakMemory.reset()
    let loaded = try HuggingFaceModel(folder: path)
    progress.advance(label: "loaded; prefill")
    let model = loaded.model
    var g = Xoshiro256StarStar(seed: seed)
    let prompt = (0..<promptTokens).map { _ in Int.random(in: 0..<s.vocabulary, using: &g) }
    var caches = model.makeCaches(capacity: promptTokens + decodeTokens + 1)
    var logits = Matrix<Float>(rows: 0, columns: 0)
    let operations = profile ? OperationProfile(phase: "prefill") : nil
    /// `body`, profiled when asked.
    func measured(_ body: () -> Void) { if let operations { operations.profiling(body) } else { body() } }
    let prefill = Stopwatch.seconds { measured { logits = model.decode(prompt, caches: &caches) } }
    operations?.phase = "decode"
    progress.advance(label: "decoding")
    var next = (0..<logits.columns).max { logits[logits.rows - 1, $0] < logits[logits.rows - 1, $1] }!
    // Decode steps and the bandwidth probe alternate, so both see the same machine.
    var (steps, probes): ([Double], [Double]) = ([], [])
    for _ in 0..<decodeTokens {
      steps.append(Stopwatch.seconds { measured { logits = model.decode([next], caches: &caches) } })
      next = (0..<logits.columns).max { logits[0, $0] < logits[0, $1] }!
      probes.append(stream.seconds())
      progress.advance()
    }
    progress.finish()
    let resident = Swift.max(0, (PeakMemory.bytes ?? 0) - stream.bytes)
    let step = steps.sorted()[steps.count / 2]
    let bandwidth = stream.bandwidth(medianOf: probes)
    let ideal = Double(s.decodeStepBytes) / (bandwidth * 1e9)
    let result = Result(
      shape: s, checkpointBytes: checkpointBytes, writeSeconds: writing, bandwidth: bandwidth,
      prefillTokensPerSecond: Double(promptTokens) / prefill, decodeSeconds: step, idealSeconds: ideal,
      residentBytes: resident, heldWeightBytes: loaded.weightBytes,
      finite: logits.elements.allSatisfy(\.isFinite))
    print(format == .json ? result.json : result.text)
    if let operations {
      let tables = [
        ProfileReport.table(operations, phase: "prefill", steps: 1, seconds: prefill),
        ProfileReport.table(operations, phase: "decode", steps: decodeTokens, seconds: steps.reduce(0, +)),
      ]
      fflush(nil)  // the run's own lines first
      FileHandle.standardError.write(Data((tables.map(\.markdown).joined(separator: "\n")).utf8))
    }
  }

  /// Writes `s` with random bf16 weights (uniform with the tensor's spread; norms 1), the same
  /// for the same seed in every run; `written` is called after each tensor.
  static func write(_ s: ModelShape, to folder: String, seed: UInt64, written: () -> Void = {}) throws {
    try AtomicFile.write(s.configJSON, to: folder + "/config.json")
    let spreads = Dictionary(uniqueKeysWithValues: s.tensors.map { ($0.name, $0.scale) })
    let entries = s.tensors.map { SafeTensorsWriter.Entry(name: $0.name, dataType: .bf16, shape: $0.shape) }
    try SafeTensorsWriter.write(streaming: entries, to: folder + "/model.safetensors") { entry, buffer in
      let values = buffer.bindMemory(to: UInt16.self)
      let spread = Float(spreads[entry.name]! * 3.0.squareRoot())
      defer { written() }
      guard spread > 0 else {
        for i in values.indices { values[i] = 0x3f80 }  // 1.0
        return
      }
      // A cheap generator per tensor (the weights need only be varied, not statistically
      // fine): xorshift64* bits → uniform in ±spread → bf16 (the upper half of the float).
      // The name's FNV-1a, not `hashValue`, which Swift seeds anew in every process.
      var state =
        seed &+ entry.name.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 } | 1
      for i in values.indices {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        let unit = Float((state &* 0x2545_F491_4F6C_DD1D) >> 40) * 0x1p-24
        values[i] = UInt16(truncatingIfNeeded: ((2 * unit - 1) * spread).bitPattern >> 16)
      }
    }
  }
}

extension Stopwatch {
  /// Seconds `body` takes, rethrowing its error.
  static func seconds(_ body: () throws -> Void) throws -> Double {
    var failure: (any Error)?
    let t = seconds {
      do { try body() } catch { failure = error }
    }
    if let failure { throw failure }
    return t
  }
}
