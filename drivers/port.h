/*
 * port.h — ethdev set-up for the gateway's ports (drivers/port.c).
 *
 * One RX and one TX queue per worker on every port; RSS with a symmetric key
 * where the device has it; checksum offloads where the device has them
 * (software checksums otherwise). Set up once by the control plane before the
 * workers start; afterwards struct port is read-only except link state.
 */
#ifndef MAILGW_DRIVERS_PORT_H
#define MAILGW_DRIVERS_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_ether.h>
#include <rte_mempool.h>

#include "platform/config.h"

struct port {
	unsigned index;                 /* position in the configuration */
	uint16_t port_id;               /* DPDK ethdev id */
	char name[CFG_NAME_LEN];
	char driver[32];
	struct rte_ether_addr mac;
	uint32_t addr;                  /* host byte order */
	uint32_t mask;
	uint32_t gateway;               /* 0: none */
	uint8_t prefix_len;
	uint16_t mtu;
	uint16_t n_queues;
	bool rss;                       /* RSS with our symmetric key */
	bool rx_ip_csum;                /* device validates IPv4 checksums */
	bool tx_ip_csum;                /* device computes IPv4 checksums */
	bool link_up;
	uint32_t link_speed;            /* Mbps */
	char kernel_if[32];             /* af_packet: the kernel interface behind the port */
};

/*
 * Find the ethdev for cp->device (created by EAL from the vdev/PCI list) and
 * configure it: n_queues RX/TX queue pairs, queue q drawing from pools[q].
 * Returns 0 or -errno with a message in err.
 */
int port_setup(struct port *p, unsigned index, const struct cfg_port *cp,
	       unsigned n_queues, struct rte_mempool *const *pools,
	       const struct cfg_limits *lim, char *err, size_t errlen);

/* Start the port (after all ports are set up). Returns 0 or -errno. */
int port_start(struct port *p, char *err, size_t errlen);

/* Stop and close the port. */
void port_close(struct port *p);

/*
 * Poll the link state; returns 1 when it changed since the last call (the
 * caller logs it), 0 otherwise. Control plane only.
 */
int port_poll_link(struct port *p);

#define PORT_RSS_KEY_LEN 40

/* The symmetric Toeplitz key every port's RSS uses (for rte_softrss: flow ownership). */
const uint8_t *port_rss_key(void);

/* "aa:bb:cc:dd:ee:ff" (lower case, as ip(8) prints it) into buf of >= 18 bytes. */
void port_format_mac(const struct rte_ether_addr *mac, char *buf, size_t len);

/* The DPDK ethdev name for a configured device string (text before ','). */
void port_dev_name(const char *device, char *name, size_t len);

/*
 * EAL device argument for a configured device: the vdev string; for
 * net_af_packet, "qpairs=N" (one per worker) and "framecnt=ring_size"
 * (limits.rx_descriptors) are appended unless the user gave them.
 */
void port_eal_device(const char *device, unsigned n_queues, unsigned ring_size, char *out, size_t len);

#endif
