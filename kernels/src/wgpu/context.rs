//! The device context of the wgpu backend: adapter choice, device, kernels built once per device,
//! buffers, batched dispatches and readback, with every wgpu failure turned into a [`KernelError`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use crate::error::{KernelError, Result};

const BACKEND: &str = "wgpu";

/// Threads per workgroup of the one-dimensional kernels (a multiple of every vendor's SIMD width).
pub(crate) const WORKGROUP_SIZE: u32 = 256;

/// Environment variable: a substring of the adapter name to use (e.g. `llvmpipe`, `H100`).
pub const ADAPTER_ENV: &str = "ZKNODE_WGPU_ADAPTER";

/// What the kernels need from an adapter. Goldilocks arithmetic is written on `u64`, and BN254
/// limb products use `u64` as the 32x32->64 multiplier, so `SHADER_INT64` is required.
pub(crate) fn required_features() -> wgpu::Features {
    wgpu::Features::SHADER_INT64
}

/// One compute kernel: a pipeline with an explicit layout of `params` (uniform, binding 0) and
/// `storage` read-write storage buffers (bindings 1..=storage).
#[derive(Debug)]
pub(crate) struct Kernel {
    name: &'static str,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    storage: usize,
}

/// Description of an adapter, for logs and benchmark tables.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub name: String,
    pub device_type: wgpu::DeviceType,
    pub backend: wgpu::Backend,
    pub driver: String,
}

/// A device with its queue and the kernels built for it.
pub(crate) struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub limits: wgpu::Limits,
    /// The most bytes one storage binding covers: the adapter's limit, or less when asked (tests use
    /// a small one to exercise the windowed paths on any device).
    pub binding_limit: u64,
    lost: Arc<AtomicBool>,
    kernels: Mutex<HashMap<(&'static str, &'static str), Arc<Kernel>>>,
}

impl core::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.adapter)
            .finish_non_exhaustive()
    }
}

fn device_error(reason: impl Into<String>) -> KernelError {
    KernelError::Device {
        backend: BACKEND,
        reason: reason.into(),
    }
}

fn unavailable(reason: impl Into<String>) -> KernelError {
    KernelError::BackendUnavailable {
        backend: BACKEND,
        reason: reason.into(),
    }
}

fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

impl Gpu {
    /// Opens the best adapter that has what the kernels need: discrete over integrated over virtual
    /// over software, filtered by [`ADAPTER_ENV`] when set. Errors name every adapter seen and why it
    /// was passed over.
    pub fn open(binding_limit: Option<u64>) -> Result<Self> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let wanted = std::env::var(ADAPTER_ENV).ok().filter(|s| !s.is_empty());

        let mut rejected = Vec::new();
        let mut candidates = Vec::new();
        for adapter in adapters {
            let info = adapter.get_info();
            if let Some(w) = &wanted {
                if !info.name.to_lowercase().contains(&w.to_lowercase()) {
                    rejected.push(format!("{} (not matching {ADAPTER_ENV}={w})", info.name));
                    continue;
                }
            }
            let missing = required_features() - adapter.features();
            if !missing.is_empty() {
                rejected.push(format!("{} (lacks {missing:?})", info.name));
                continue;
            }
            candidates.push((type_rank(info.device_type), adapter));
        }
        candidates.sort_by_key(|(rank, _)| *rank);
        let Some((_, adapter)) = candidates.into_iter().next() else {
            return Err(unavailable(if rejected.is_empty() {
                "no adapter found (is a Vulkan/Metal/DX12 driver installed? on Debian: mesa-vulkan-drivers)"
                    .to_string()
            } else {
                format!("no suitable adapter: {}", rejected.join("; "))
            }));
        };

        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("zknode-kernels"),
            required_features: required_features(),
            // Ask for everything the adapter offers: the defaults cap buffers at 256 MiB and storage
            // bindings at 128 MiB, far below what a prover-class GPU has.
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| unavailable(format!("{}: request_device failed: {e}", info.name)))?;

        let lost = Arc::new(AtomicBool::new(false));
        let lost_flag = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            tracing::error!(?reason, %message, "wgpu device lost");
            lost_flag.store(true, Ordering::SeqCst);
        });
        // Errors are collected per operation through error scopes; anything escaping them is logged
        // here instead of wgpu's default handler, which panics.
        device.on_uncaptured_error(Arc::new(|e: wgpu::Error| {
            tracing::error!(error = %e, "uncaptured wgpu error");
        }));

        let adapter = AdapterSummary {
            name: info.name.clone(),
            device_type: info.device_type,
            backend: info.backend,
            driver: format!("{} {}", info.driver, info.driver_info),
        };
        tracing::info!(adapter = %adapter.name, device_type = ?adapter.device_type, backend = ?adapter.backend,
            max_storage_binding = limits.max_storage_buffer_binding_size, "wgpu backend opened");
        let align = u64::from(limits.min_storage_buffer_offset_alignment).max(8);
        let binding_limit = binding_limit
            .unwrap_or(u64::MAX)
            .min(limits.max_storage_buffer_binding_size)
            / align
            * align;
        if binding_limit == 0 {
            return Err(unavailable(format!(
                "{}: storage binding limit below one aligned window",
                info.name
            )));
        }
        Ok(Self {
            device,
            queue,
            adapter,
            limits,
            binding_limit,
            lost,
            kernels: Mutex::new(HashMap::new()),
        })
    }

    fn check_alive(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            Err(device_error("device lost"))
        } else {
            Ok(())
        }
    }

    /// Runs `f` inside out-of-memory, validation and internal error scopes and reports what they
    /// caught. (Error scopes are per thread, so concurrent callers do not see each other's errors.)
    pub fn scoped<R>(&self, what: &str, f: impl FnOnce() -> R) -> Result<R> {
        let scopes = ErrorScopes::push(self)?;
        let out = f();
        scopes.pop(self, what)?;
        Ok(out)
    }

    /// The kernel `entry` of the WGSL module `module`, compiled on first use and cached for the
    /// device's lifetime. `source` is the module's full WGSL text.
    pub fn kernel(
        &self,
        module: &'static str,
        source: &'static str,
        entry: &'static str,
        storage: usize,
    ) -> Result<Arc<Kernel>> {
        let mut cache = self
            .kernels
            .lock()
            .map_err(|_| device_error("kernel cache poisoned"))?;
        if let Some(k) = cache.get(&(module, entry)) {
            return Ok(k.clone());
        }
        let kernel = self.scoped(&format!("building kernel {module}::{entry}"), || {
            let shader = self
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(module),
                    source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(source)),
                });
            let mut entries = vec![wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }];
            entries.extend(
                (1..=storage as u32).map(|binding| wgpu::BindGroupLayoutEntry {
                    binding,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only: false },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                }),
            );
            let layout = self
                .device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(entry),
                    entries: &entries,
                });
            let pipeline_layout =
                self.device
                    .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(entry),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
            let pipeline = self
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&pipeline_layout),
                    module: &shader,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                });
            Kernel {
                name: entry,
                pipeline,
                layout,
                storage,
            }
        })?;
        let kernel = Arc::new(kernel);
        cache.insert((module, entry), kernel.clone());
        Ok(kernel)
    }

    /// A new storage buffer of `bytes` bytes (at least 4: wgpu refuses empty bindings).
    pub fn storage_buffer(&self, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
        let bytes = bytes.max(4).next_multiple_of(4);
        if bytes > self.limits.max_buffer_size {
            return Err(device_error(format!(
                "{label}: {bytes} bytes exceed the adapter's maximum buffer size {}",
                self.limits.max_buffer_size
            )));
        }
        self.scoped(label, || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })
    }

    /// A storage buffer holding `words`.
    pub fn upload_words(&self, label: &str, words: &[u32]) -> Result<wgpu::Buffer> {
        let buf = self.storage_buffer(label, (words.len() as u64) * 4)?;
        if !words.is_empty() {
            self.scoped(label, || {
                self.queue
                    .write_buffer(&buf, 0, bytemuck::cast_slice(words))
            })?;
        }
        Ok(buf)
    }

    /// Reads `words` u32 words at word offset `offset` of `buf`.
    pub fn read_words(&self, buf: &wgpu::Buffer, offset: u64, words: u64) -> Result<Vec<u32>> {
        if words == 0 {
            return Ok(Vec::new());
        }
        let bytes = words * 4;
        let staging = self.scoped("readback staging", || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })?;
        self.scoped("readback copy", || {
            let mut encoder = self.device.create_command_encoder(&Default::default());
            encoder.copy_buffer_to_buffer(buf, offset * 4, &staging, 0, bytes);
            self.queue.submit([encoder.finish()]);
        })?;
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        rx.recv()
            .map_err(|_| device_error("readback: map callback never ran"))?
            .map_err(|e| device_error(format!("readback: {e}")))?;
        let out = {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| device_error(format!("readback: {e}")))?;
            bytemuck::cast_slice::<u8, u32>(&view).to_vec()
        };
        staging.unmap();
        Ok(out)
    }

    /// Blocks until all submitted work is done.
    pub fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| device_error(format!("waiting for the device: {e}")))?;
        self.check_alive()
    }

    /// Starts a batch of dispatches recorded into one command buffer.
    pub fn batch(&self, label: &'static str) -> Result<Batch<'_>> {
        let scopes = ErrorScopes::push(self)?;
        Ok(Batch {
            gpu: self,
            label,
            encoder: self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) }),
            keep_alive: Vec::new(),
            scopes,
        })
    }

    /// Splits `units` units of `unit_bytes` bytes each into windows that one storage binding can
    /// cover and whose byte offsets meet the adapter's alignment: `(first unit, unit count)` pairs.
    pub fn windows(
        &self,
        what: &str,
        units: usize,
        unit_bytes: u64,
    ) -> Result<Vec<(usize, usize)>> {
        if units == 0 {
            return Ok(Vec::new());
        }
        if (units as u64) * unit_bytes <= self.binding_limit {
            return Ok(vec![(0, units)]);
        }
        let align = u64::from(self.limits.min_storage_buffer_offset_alignment).max(1);
        // Units per window: as many as fit, rounded down so every window starts aligned.
        let step = (align / gcd(align, unit_bytes)) as usize;
        let per_window = ((self.binding_limit / unit_bytes) as usize) / step * step;
        if per_window == 0 {
            return Err(device_error(format!(
                "{what}: one unit of {unit_bytes} bytes does not fit the storage binding limit of {} bytes",
                self.binding_limit
            )));
        }
        Ok((0..units)
            .step_by(per_window)
            .map(|first| (first, per_window.min(units - first)))
            .collect())
    }

    /// Workgroup counts covering `threads` threads of [`WORKGROUP_SIZE`], spread over x and y to stay
    /// within the 65535-per-dimension limit. Kernels recover the linear index from
    /// `@builtin(num_workgroups)`.
    pub fn grid(&self, threads: u64) -> [u32; 3] {
        let groups = threads.div_ceil(u64::from(WORKGROUP_SIZE)).max(1);
        let max_x = u64::from(self.limits.max_compute_workgroups_per_dimension.min(65535));
        let x = groups.min(max_x);
        let y = groups.div_ceil(x);
        [x as u32, y as u32, 1]
    }
}

/// The three error scopes of one operation, popped in reverse order.
pub(crate) struct ErrorScopes {
    // Declared innermost first: if the guards are dropped unpopped, they unwind in stack order.
    internal: wgpu::ErrorScopeGuard,
    validation: wgpu::ErrorScopeGuard,
    oom: wgpu::ErrorScopeGuard,
}

impl ErrorScopes {
    fn push(gpu: &Gpu) -> Result<Self> {
        gpu.check_alive()?;
        let oom = gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let internal = gpu.device.push_error_scope(wgpu::ErrorFilter::Internal);
        Ok(Self {
            internal,
            validation,
            oom,
        })
    }

    fn pop(self, gpu: &Gpu, what: &str) -> Result<()> {
        let errors = [
            pollster::block_on(self.internal.pop()),
            pollster::block_on(self.validation.pop()),
            pollster::block_on(self.oom.pop()),
        ];
        if let Some(e) = errors.into_iter().flatten().next() {
            return Err(device_error(format!("{what}: {e}")));
        }
        gpu.check_alive()
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A byte range of a buffer bound as one storage binding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Binding<'a> {
    pub buffer: &'a wgpu::Buffer,
    /// Offset in bytes (a multiple of the adapter's storage offset alignment).
    pub offset: u64,
    /// Size in bytes; `None` for the rest of the buffer.
    pub size: Option<u64>,
}

impl<'a> Binding<'a> {
    /// Units `[first, first + count)` of `unit_bytes` bytes each.
    pub fn window(buffer: &'a wgpu::Buffer, first: usize, count: usize, unit_bytes: u64) -> Self {
        Binding {
            buffer,
            offset: first as u64 * unit_bytes,
            size: Some(count as u64 * unit_bytes),
        }
    }
}

impl<'a> From<&'a wgpu::Buffer> for Binding<'a> {
    fn from(buffer: &'a wgpu::Buffer) -> Self {
        Binding {
            buffer,
            offset: 0,
            size: None,
        }
    }
}

/// Dispatches recorded into one command encoder and submitted together: a chain of kernels runs
/// without a host round trip between them.
pub(crate) struct Batch<'g> {
    gpu: &'g Gpu,
    label: &'static str,
    encoder: wgpu::CommandEncoder,
    keep_alive: Vec<wgpu::Buffer>,
    /// Open for the batch's whole life, so recording errors (bad bindings) are reported by `run`.
    scopes: ErrorScopes,
}

impl Batch<'_> {
    /// Records one dispatch of `kernel` with `params` (a uniform of u32 words) and its storage bindings.
    pub fn dispatch(
        &mut self,
        kernel: &Kernel,
        params: &[u32],
        storage: &[Binding<'_>],
        groups: [u32; 3],
    ) -> Result<()> {
        if storage.len() != kernel.storage {
            return Err(device_error(format!(
                "kernel {} takes {} storage buffers, got {}",
                kernel.name,
                kernel.storage,
                storage.len()
            )));
        }
        // Uniform buffers need 16-byte granularity.
        let mut words = params.to_vec();
        words.resize(params.len().next_multiple_of(4).max(4), 0);
        let gpu = self.gpu;
        let uniform = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytemuck::cast_slice(&words),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        for (i, b) in storage.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: b.buffer,
                    offset: b.offset,
                    size: b.size.and_then(wgpu::BufferSize::new),
                }),
            });
        }
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name),
            layout: &kernel.layout,
            entries: &entries,
        });
        {
            let mut pass = self
                .encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(kernel.name),
                    timestamp_writes: None,
                });
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        }
        self.keep_alive.push(uniform);
        Ok(())
    }

    /// Records a buffer-to-buffer copy (bytes).
    pub fn copy(
        &mut self,
        src: &wgpu::Buffer,
        src_offset: u64,
        dst: &wgpu::Buffer,
        dst_offset: u64,
        bytes: u64,
    ) {
        if bytes > 0 {
            self.encoder
                .copy_buffer_to_buffer(src, src_offset, dst, dst_offset, bytes);
        }
    }

    /// Submits the batch and waits for it, reporting any error raised while recording or running it.
    pub fn run(self) -> Result<()> {
        let Batch {
            gpu,
            label,
            encoder,
            keep_alive,
            scopes,
        } = self;
        gpu.queue.submit([encoder.finish()]);
        let waited = gpu.wait();
        scopes.pop(gpu, label)?;
        waited?;
        drop(keep_alive);
        Ok(())
    }
}
