import CostModel
import Foundation
import Linalg
import MoE

/// A decoder-only model from a Hugging Face folder: `config.json`, the weights
/// (`model.safetensors`, or shards listed by `model.safetensors.index.json`) and, when
/// present, `tokenizer.json`; or from a GGUF file (`GGUFArchitecture` lists the architectures).
///
/// The weights are memory-mapped; float32 tensors are used in place (no copy), other
/// float types are converted once at load. Everything is validated before it is trusted
/// (see `HuggingFaceCheckpoint.model()`).
public struct HuggingFaceModel: Sendable {
  /// The folder it came from.
  public let folder: String
  /// The config and weights.
  public let checkpoint: HuggingFaceCheckpoint
  /// The network.
  public let model: DecoderModel<Float>
  /// The ids that end a generated sequence (`eos_token_id`).
  public let endOfSequence: [Int]
  /// The folder's tokenizer, if it has a `tokenizer.json`.
  public let tokenizer: BPETokenizer?

  /// Loads the model in `folder` (or the GGUF file at that path), holding product weights as `weightFormat` says (bf16
  /// checkpoints stay bf16 by default), its weight files mapped or read into memory as
  /// `access` says (`.read` where other writers may truncate the files). Before anything is
  /// converted, the memory the held weights will take (`estimatedHeldBytes`) is checked
  /// against `memoryBudget` (default: the machine's physical memory), so a model that cannot
  /// fit is refused instead of being killed.
  ///
  /// `importance` (by tensor name, see `HuggingFaceCheckpoint.importance`) weights the
  /// quantization of the products it names.
  ///
  /// - Throws: `CheckpointError` (unreadable folder, config or tensors, `.insufficientMemory`,
  ///   `.unusableImportance`), `SafeTensorsError` (malformed weights) or `TokenizerError`
  ///   (malformed `tokenizer.json`).
  public init(
    folder: String, weightFormat: HuggingFaceCheckpoint.LoadedWeightFormat = .stored,
    importance: [String: [Float]] = [:], access: FileAccess = .mapped,
    memoryBudget: Int = Int(ProcessInfo.processInfo.physicalMemory)
  ) throws {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
      throw CheckpointError.unreadableModel(path: folder, reason: "no such folder or GGUF file")
    }
    guard isFolder.boolValue else {
      let file = try GGUFFile(contentsOfFile: folder, access: access)
      var checkpoint = try HuggingFaceCheckpoint(gguf: file)
      checkpoint.weightFormat = weightFormat
      checkpoint.importance = importance
      try Self.checkMemory(of: checkpoint, path: folder, budget: memoryBudget)
      // End tokens from tokenizer.ggml.eos_token_id, the tokenizer from tokenizer.ggml.*.
      self.init(
        folder: folder, checkpoint: checkpoint, model: try checkpoint.model(),
        endOfSequence: try checkpoint.endOfSequenceIds(generationConfig: nil),
        tokenizer: try BPETokenizer(gguf: file))
      return
    }
    let url = URL(fileURLWithPath: folder)
    let config = url.appendingPathComponent("config.json").path
    let single = url.appendingPathComponent("model.safetensors").path
    let index = url.appendingPathComponent("model.safetensors.index.json").path
    let manager = FileManager.default
    guard manager.fileExists(atPath: config) else {
      throw CheckpointError.unreadableModel(path: folder, reason: "it has no config.json")
    }
    let weights: String
    if manager.fileExists(atPath: single) {
      weights = single
    } else if manager.fileExists(atPath: index) {
      weights = index
    } else {
      throw CheckpointError.unreadableModel(
        path: folder, reason: "it has neither model.safetensors nor model.safetensors.index.json")
    }
    var checkpoint = try HuggingFaceCheckpoint(configFile: config, weightsFile: weights, access: access)
    checkpoint.weightFormat = weightFormat
    checkpoint.importance = importance
    try Self.checkMemory(of: checkpoint, path: folder, budget: memoryBudget)
    let model = try checkpoint.model()
    // generation_config.json's end tokens (often a list) override config.json's, as in
    // transformers' generate.
    let generationFile = url.appendingPathComponent("generation_config.json").path
    var generationConfig: ConfigFields?
    if manager.fileExists(atPath: generationFile) {
      do {
        generationConfig = try ConfigFields(json: try InputFile.contents(of: generationFile))
      } catch {
        throw CheckpointError.config(.unreadableFile(path: generationFile, reason: "\(error)"))
      }
    }
    let endOfSequence: [Int]
    do {
      endOfSequence = try checkpoint.endOfSequenceIds(generationConfig: generationConfig)
    } catch let error as CheckpointError where generationConfig?.has("eos_token_id") == true {
      throw CheckpointError.config(.unreadableFile(path: generationFile, reason: "\(error)"))
    }
    let tokenizerFile = url.appendingPathComponent("tokenizer.json").path
    let tokenizer =
      manager.fileExists(atPath: tokenizerFile)
      ? try BPETokenizer(contentsOfFile: tokenizerFile) : nil
    if let tokenizer, tokenizer.vocabularySize > model.vocabulary {
      throw CheckpointError.config(
        .inconsistent(
          fields: ["vocab_size"],
          reason: "tokenizer.json has \(tokenizer.vocabularySize) tokens, the model \(model.vocabulary)"))
    }
    self.init(
      folder: folder, checkpoint: checkpoint, model: model, endOfSequence: endOfSequence, tokenizer: tokenizer
    )
  }

  private init(
    folder: String, checkpoint: HuggingFaceCheckpoint, model: DecoderModel<Float>, endOfSequence: [Int],
    tokenizer: BPETokenizer?
  ) {
    (self.folder, self.checkpoint, self.model) = (folder, checkpoint, model)
    (self.endOfSequence, self.tokenizer) = (endOfSequence, tokenizer)
  }

  /// Refuses a checkpoint whose held weights (`estimatedHeldBytes`) exceed `budget`.
  static func checkMemory(of checkpoint: HuggingFaceCheckpoint, path: String, budget: Int) throws {
    let needed = try checkpoint.estimatedHeldBytes()
    guard needed <= budget else {
      throw CheckpointError.insufficientMemory(
        path: path, heldAs: checkpoint.weightFormat.rawValue, needed: needed, budget: budget)
    }
  }

  /// The bits a product weight held compact takes on average, its block's scales included
  /// (what a recipe such as `q4_K_M` comes to), or `nil` when none is compact.
  public var compactBitsPerWeight: Double? {
    let held = checkpoint.ledger.compactMatrices.values
    let elements = held.reduce(0) { $0 + $1.rows * $1.columns }
    return elements == 0 ? nil : Double(8 * held.reduce(0) { $0 + $1.byteCount }) / Double(elements)
  }

  /// The tensor names of the products whose weights are held compact (`name#e` for expert
  /// `e` of a fused tensor), by their matrices' `WeightMatrix.storageIdentifier`.
  public var productNames: [ObjectIdentifier: String] { checkpoint.ledger.productNames }

  /// The positions the model was trained for (`max_position_embeddings`; 65536 when the
  /// config does not say).
  public var positions: Int { (try? checkpoint.config.int("max_position_embeddings")) ?? 65536 }

  /// Bytes of the weights the model holds (4 per `Float` parameter, 2 per bf16 one).
  public var weightBytes: Int { model.weightBytes }
}
