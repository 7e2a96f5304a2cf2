# Kusari on a CUDA runtime image: the bundle from `make bundle` (binary, its non-CUDA libraries,
# launcher, GPU verification) on top of NVIDIA's image, which provides cuBLAS, NVRTC, NCCL and
# cuDNN 9; the NVIDIA container toolkit provides the driver (libcuda.so.1) at run time.
#
#   make bundle
#   docker build -t kusari .
#   docker run --gpus all --rm kusari info
#   docker run --gpus all --rm -v $PWD/data:/data -v $PWD/result:/result kusari \
#       train vgg-cifar100 -g 0 --data-dir /data -o /result
#   docker run --gpus all --rm --entrypoint /opt/kusari/gpu-verify.sh kusari
#
# Ubuntu 24.04 because the bundle needs glibc 2.36 or newer (it is built on Debian 12).
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04
RUN apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*
ADD dist/kusari-linux-x86_64.tar.xz /opt/
ENV PATH=/opt/kusari:$PATH
ENTRYPOINT ["kusari"]
CMD ["info"]
