// Alternate signal stacks (sigaltstack) for the threads that may run a handler of ours, so that a
// handler installed with SA_ONSTACK never has its frame written at the stack pointer of the code it
// interrupts. That pointer is not always a stack: oneDNN 2.6's gemm:jit kernels
// (jit_avx512_common_gemm_f32, jit_avx_gemm_f32; they run our inner_product backward passes, every
// linear layer's gradient) point rsp into a malloc'ed workspace while they run, so the kernel
// writes the signal frame (~3 KB with AVX-512 state) into the heap (oneDNN issue #4845, fixed in
// oneDNN 3.11; Debian 12 ships 2.6.3). Seen: SIGTERM to a copy-task TCA training aborted it with
// glibc's "corrupted size vs. prev_size" (exit 134) before the stop checkpoint was written.
#pragma once

namespace tca {

// Gives the calling thread and every thread of the OpenMP team (libgomp's pool: a parallel region
// started now uses the threads oneDNN's parallel regions use) an alternate signal stack, unless it
// already has one (AddressSanitizer installs its own). The stacks live as long as their threads
// (the main thread and the pool both last until exit) and are never freed. Idempotent. Throws
// RuntimeFailure when a stack cannot be allocated.
void install_signal_stacks();

// Whether the calling thread has an alternate signal stack.
bool has_signal_stack();

}  // namespace tca
