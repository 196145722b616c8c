/** What to do when there is no adapter, tailored to where we run. */
export function noAdapterHint(): string {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (!isNode) return 'Use a browser with WebGPU enabled (Chrome/Edge 113+, or a flag in Firefox/Safari).';
  const icd = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;
  return (
    'In Node install the `webgpu` package and a Vulkan driver (Mesa lavapipe from Debian bookworm-backports: ' +
    'mesa-vulkan-drivers, libvulkan1; Debian 12\'s own Mesa 22 lavapipe is rejected by Dawn), or point ' +
    'VK_ICD_FILENAMES at a working ICD json such as Chromium\'s /usr/lib/chromium/vk_swiftshader_icd.json' +
    (icd ? ` (VK_ICD_FILENAMES is now ${icd})` : '')
  );
}
