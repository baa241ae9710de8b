/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * RPAL: direct call hand-off between cooperating processes, /dev/rpal.
 *
 * A process enables itself as a service and gets a service id and a random
 * key. Service ids are per effective user: two services of different users
 * may share one. Another service that learns the key (over a Unix socket,
 * say) requests it and may then call its receiver threads; a request takes
 * what ptrace attach (PTRACE_MODE_ATTACH_REALCREDS) takes, in both
 * directions. Each receiver and sender thread registers a call context:
 * 64-byte aligned user memory whose first __u32 is the state word below.
 * The kernel pins that page (its whole folio) and charges it to
 * RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK.
 *
 * The kernel writes the state word to show where a call is; it decides
 * from state of its own and never reads the word, so a word user space
 * overwrites misleads only user space.
 *
 * Receiver state word: bits 0-7 state, bits 8-23 sender id, bits 24-31
 * service id (both ids are those of the caller and are valid in CALL and
 * KERNEL_RET). Sender state word: bits 0-7 state.
 *
 * Errors common to the ioctls:
 *   EFAULT       a pointer argument or the call context is not accessible;
 *                nothing was done
 *   ENOMEM       out of memory, or the context would exceed RLIMIT_MEMLOCK
 *   EINVAL       unaligned context, reserved field not zero, bad state;
 *                share or import without a slot of one's own
 *   ENOTCONN     the process is not a service, or the thread is not
 *                registered in the role the ioctl needs
 *   EEXIST       the process is already a service, the service is
 *                already requested, or its slot already imported
 *   EBUSY        the thread is already registered; a wait of a receiver
 *                whose handler a user-mode call still runs
 *   EACCES       no live service has this key that the caller may request
 *   ENOENT       release of a service that was not requested
 *   EPERM        call to a service that was not requested
 *   ESRCH        no such receiver in the called service
 *   EAGAIN       call: no receiver (or not the named one) is waiting
 *   ECONNREFUSED the called service has exited
 *   ECONNRESET   the receiver exited during the call
 *   ETIMEDOUT    wait or call timed out
 *   EINTR        wait: a signal handler without SA_RESTART ran (waits
 *                restart otherwise); call: the caller was killed. A signal
 *                or stop never ends a call: the call ioctl restarts and
 *                waits on for the reply.
 *   ENOSPC       out of service, sender or receiver ids, or of slots
 *   EDQUOT       the user already holds RPAL_SLOTS_PER_USER slots
 *   ENXIO        share or import: the peer has no slot
 *   EOPNOTSUPP   import: either mm has MMU notifiers (KVM, SVA, ...), or
 *                the kernel runs with 5-level paging; user-mode calls: no
 *                FSGSBASE, or no stub in the caller's vDSO
 *   ENOPROTOOPT  the receiver is not armed for user-mode calls
 *
 * Slots. A process may live in a slot of its own: one 512 GiB region,
 * 512 GiB-aligned (one top-level page-table entry with 4-level paging, one
 * p4d entry with 5-level paging), of which slot 1 is the lowest and slot
 * RPAL_NR_SLOTS the highest; ordinary processes keep their layout, above
 * the slots. RPAL_IOC_EXEC_SLOT marks the calling thread so that its next
 * successful execve() lays the new program out in a free slot, chosen by
 * the kernel: program, interpreter, libraries, heap, stacks and vDSO. The
 * mark stays through failed execve() calls and is not inherited by fork.
 * The program must be position independent (ET_DYN, 64-bit): other ELF
 * files fail the execve() with EINVAL. In a slot, no mapping, mremap(),
 * shmat() or brk() may reach outside it (ENOMEM; a hint outside it is
 * ignored) and no stack grows past its edge. The slot belongs to the mm:
 * a fork child has none (it keeps its copy of the mappings, unconfined),
 * and the slot is free again when the last user of the mm is gone.
 *
 * Sharing. Two services with slots that requested each other may map each
 * other's slot. RPAL_IOC_SHARE_SLOT(id) lets service id import the
 * caller's slot; RPAL_IOC_IMPORT_SLOT(id) maps service id's slot, at its
 * own addresses, into the caller, if that service let it. Both need the
 * requests both ways and ptrace attach rights both ways at that moment
 * (EPERM otherwise, or ENOENT if the caller did not request id). The
 * importer sees the owner's pages as the owner's page tables map them,
 * with the owner's permissions; its faults there are handled in the
 * owner's mm and charged to the owner. An address the owner has no
 * mapping at, or a write it may not do, is SIGSEGV (EFAULT for a system
 * call), as is any access once the owner's mm is gone. A private futex
 * at an imported address is the owner's; a shared one fails with EFAULT.
 * get_user_pages() (O_DIRECT, vmsplice, ...) of an
 * imported address fails with EFAULT. Imports last until either mm goes;
 * a fork child imports nothing.
 *
 * User-mode calls. A sender that imports a receiver's slot may run the
 * receiver's handler on its own thread without entering the kernel,
 * through __vdso_rpal_call() in the vDSO (see struct rpal_uctx). A
 * system call made there is made by the receiver thread: the kernel
 * hands the live user state to it at system call entry (the lazy
 * switch), and the receiver runs the handler on to its return while the
 * sender sleeps. So does a preemption or a signal of the sender there:
 * the receiver thread runs on, and the sender's signal handlers run on
 * its own stack and TLS. A fault there (a null dereference) is the
 * receiver's: the receiver thread executes the faulting instruction
 * again, so its process gets the signal, and the sender's call fails
 * with ECONNRESET if that kills it.
 */
#ifndef _UAPI_LINUX_RPAL_H
#define _UAPI_LINUX_RPAL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define RPAL_API_VERSION	1

#define RPAL_CTX_ALIGN		64

#define RPAL_STATE_MASK		0x000000ffU
#define RPAL_SENDER_ID_SHIFT	8
#define RPAL_SENDER_ID_MASK	0x00ffff00U
#define RPAL_SERVICE_ID_SHIFT	24
#define RPAL_SERVICE_ID_MASK	0xff000000U

/*
 * Receiver states. WAIT: asleep in RPAL_IOC_WAIT, callable. CALL: a sender
 * owns the receiver and is waking it, or runs its handler in a user-mode
 * call. KERNEL_RET: the call has been handed to the receiver; the runtime
 * may store RUNNING. READY is no longer written. LAZY_SWITCH: a user-mode
 * call the kernel handed to the receiver thread at a system call, a
 * preemption, a signal or a fault of its handler, ids kept. In a
 * user-mode call the sender's word is CALL with the receiver's service
 * and receiver id in the id bits.
 */
enum rpal_receiver_state {
	RPAL_RECEIVER_RUNNING		= 0,
	RPAL_RECEIVER_KERNEL_RET	= 1,
	RPAL_RECEIVER_READY		= 2,
	RPAL_RECEIVER_WAIT		= 3,
	RPAL_RECEIVER_CALL		= 4,
	RPAL_RECEIVER_LAZY_SWITCH	= 5,
};

enum rpal_sender_state {
	RPAL_SENDER_RUNNING		= 0,
	RPAL_SENDER_CALL		= 1,
	RPAL_SENDER_KERNEL_RET		= 2,
};

/* RPAL_IOC_ENABLE, out: this process's service id and key. */
struct rpal_service_info {
	__u32 id;
	__u32 reserved;
	__u64 key;
};

/* RPAL_IOC_REQUEST, in: key; out: the requested service's id. */
struct rpal_request {
	__u64 key;
	__u32 id;
	__u32 reserved;
};

/* RPAL_IOC_REGISTER_*, in: ctx, the call context; out: the thread's id. */
struct rpal_register {
	__u64 ctx;
	__u32 id;
	__u32 reserved;
};

/*
 * RPAL_IOC_WAIT and RPAL_IOC_REPLY_WAIT, in: timeout_ns (< 0: forever);
 * out: service and sender id of the caller. A wait a signal interrupts
 * stores the time left in timeout_ns, which its restart then waits.
 */
struct rpal_wait {
	__s64 timeout_ns;
	__u32 service_id;
	__u32 sender_id;
};

#define RPAL_ANY_RECEIVER	0

/*
 * RPAL_IOC_CALL, in: service_id, receiver_id (or RPAL_ANY_RECEIVER) and
 * timeout_ns (< 0: forever); out: receiver_id of the receiver that replied.
 */
struct rpal_call {
	__u32 service_id;
	__u32 receiver_id;
	__s64 timeout_ns;
};

/*
 * The call context of a thread that makes or serves user-mode calls: the
 * context registered with RPAL_IOC_REGISTER_*, all in one page.
 *
 * A receiver fills in rip (its handler), rsp (the top of a stack for it),
 * fsbase (its TLS), mxcsr, fpucw and rseq, then arms it with
 * RPAL_IOC_UCALL_ARM, which checks them and writes ids; it then waits in
 * RPAL_IOC_WAIT as for a kernel call. A sender sets rseq and learns the
 * receiver's context from RPAL_IOC_UCALL_LOOKUP, which writes the
 * sender's ids. __vdso_rpal_call(self, recv, arg) then saves the
 * sender's rsp, rbx, rbp, r12-r15, fsbase, MXCSR and x87 control word in
 * self, moves recv's word WAIT -> CALL (with self's ids) and self's word
 * to CALL (with recv's ids), copies the sender's rseq cpu ids into the
 * receiver's rseq area, loads recv's MXCSR, control word and fsbase and
 * calls handler(recv, arg) on recv's stack. When it returns, the stub
 * loads self's saved context, stores the return value in self->arg,
 * moves recv's word back to WAIT and self's to RUNNING, and returns 0.
 * It fails with nothing changed: EBUSY (self is in a call), EINVAL (recv
 * is not armed) or EAGAIN (recv is not in WAIT: busy, running, gone).
 * The handler's caller ids are in recv's word, its caller in peer. After
 * a lazy switch it returns ECONNRESET if the receiver thread died before
 * the handler returned.
 */
struct rpal_uctx {
	__u32 state;
	__u32 ids;	/* written by the kernel: service id << 24 | id << 8 */
	__u64 peer;	/* in a call: the other side's context */
	__u64 arg;	/* receiver: the argument; sender: the reply */
	__u64 rseq;	/* this thread's struct rseq, or 0 */
	__u64 rip;	/* receiver: the handler; sender: unused */
	__u64 rsp;
	__u64 fsbase;
	__u64 rbx, rbp, r12, r13, r14, r15;
	__u32 mxcsr;
	__u16 fpucw;
	__u16 reserved0;
	__u64 reserved[2];
};

/* RPAL_IOC_UCALL_LOOKUP, in: service and receiver id; out: the rest. */
struct rpal_ucall_lookup {
	__u32 service_id;
	__u32 receiver_id;
	__u64 ctx;	/* the receiver's struct rpal_uctx */
	__u64 entry;	/* __vdso_rpal_call() in the caller's vDSO */
};

#define RPAL_SLOT_SHIFT		39
#define RPAL_SLOT_SIZE		(1ULL << RPAL_SLOT_SHIFT)
#define RPAL_NR_SLOTS		64
#define RPAL_SLOTS_PER_USER	16

/* RPAL_IOC_EXEC_SLOT: the argument, not a pointer; 0 takes the mark away. */
#define RPAL_EXEC_SLOT		1U

#define RPAL_IOC_MAGIC		0xB8

/* Returns RPAL_API_VERSION. */
#define RPAL_IOC_GET_API_VERSION	_IO(RPAL_IOC_MAGIC, 0)
#define RPAL_IOC_ENABLE			_IOR(RPAL_IOC_MAGIC, 1, struct rpal_service_info)
#define RPAL_IOC_REQUEST		_IOWR(RPAL_IOC_MAGIC, 2, struct rpal_request)
/* The argument is the service id, not a pointer. */
#define RPAL_IOC_RELEASE		_IO(RPAL_IOC_MAGIC, 3)
#define RPAL_IOC_REGISTER_RECEIVER	_IOWR(RPAL_IOC_MAGIC, 4, struct rpal_register)
#define RPAL_IOC_REGISTER_SENDER	_IOWR(RPAL_IOC_MAGIC, 5, struct rpal_register)
#define RPAL_IOC_UNREGISTER		_IO(RPAL_IOC_MAGIC, 6)
#define RPAL_IOC_WAIT			_IOWR(RPAL_IOC_MAGIC, 7, struct rpal_wait)
#define RPAL_IOC_CALL			_IOWR(RPAL_IOC_MAGIC, 8, struct rpal_call)
#define RPAL_IOC_REPLY_WAIT		_IOWR(RPAL_IOC_MAGIC, 9, struct rpal_wait)
#define RPAL_IOC_EXEC_SLOT		_IO(RPAL_IOC_MAGIC, 10)
/* Returns the calling process's slot, 0 if it has none. */
#define RPAL_IOC_GET_SLOT		_IO(RPAL_IOC_MAGIC, 11)
/* The argument is a service id; IMPORT returns the slot it mapped. */
#define RPAL_IOC_SHARE_SLOT		_IO(RPAL_IOC_MAGIC, 12)
#define RPAL_IOC_IMPORT_SLOT		_IO(RPAL_IOC_MAGIC, 13)
/*
 * User-mode calls. ARM: the calling receiver takes them (EINVAL: bad
 * context or no slot; EOPNOTSUPP: no FSGSBASE or no stub in the vDSO).
 * LOOKUP: a sender finds a receiver (EPERM: not requested; ESRCH: no
 * such receiver; ENOPROTOOPT: not armed; ENXIO: its slot not imported).
 */
#define RPAL_IOC_UCALL_ARM		_IO(RPAL_IOC_MAGIC, 14)
#define RPAL_IOC_UCALL_LOOKUP		_IOWR(RPAL_IOC_MAGIC, 15, struct rpal_ucall_lookup)

#endif /* _UAPI_LINUX_RPAL_H */
